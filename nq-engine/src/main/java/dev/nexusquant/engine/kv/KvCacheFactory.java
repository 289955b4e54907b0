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
}
