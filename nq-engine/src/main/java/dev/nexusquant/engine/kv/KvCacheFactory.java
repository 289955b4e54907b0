package dev.nexusquant.engine.kv;

/** Creates the KV cache of a new session. Implementations are immutable and may be shared between threads. */
@FunctionalInterface
public interface KvCacheFactory {

    /** A new, empty cache for a session of a model of this layout. */
    KvCache create(KvLayout layout);

    /** A short name for reports and logs, such as {@code "fp32"} or {@code "nexusquant:balanced"}. */
    default String describe() {
        return getClass().getSimpleName();
    }

    /**
     * This factory bound to {@code model}: the same factory, unless its settings name something made from the model
     * itself (a compressed cache with {@code basis=auto} finds or fits the model's own KLT bases here). Every place
     * that creates caches for a model calls it once ({@link dev.nexusquant.engine.model.Model#newSession(KvCacheFactory)}
     * does), so that such settings work wherever a factory is accepted.
     */
    default KvCacheFactory forModel(dev.nexusquant.engine.model.Model model) {
        return this;
    }
}
