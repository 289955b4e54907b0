package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;

import java.util.Objects;

/**
 * The drop-in API, in the shape users of the Python original know ({@code with nexusquant_evict(model, ...)}):
 * <pre>{@code
 * try (var nq = NexusQuant.compress(model, Quality.BALANCED)) {
 *     model.generate(prompt, GenerationOptions.greedy(200), listener); // uses the compressed cache
 *     System.out.println(nq.stats());                                  // tokens kept, bytes, ratio, bits/value
 * }                                                                    // the model's previous cache is back
 * }</pre>
 * Inside the block every new session of the model uses a compressed cache; closing restores the factory that was in
 * place before. The idiomatic alternative needs no block: {@code model.session().kvCache(KvCompression.balanced())}.
 */
public final class NexusQuant implements AutoCloseable {

    private final Model model;
    private final KvCacheFactory previous;
    private final Tracking installed;
    private boolean closed;

    private NexusQuant(Model model, KvCompression config) {
        this.model = Objects.requireNonNull(model, "model");
        this.installed = new Tracking(Objects.requireNonNull(config, "config").forModel(model));
        this.previous = model.setKvCacheFactory(installed);
    }

    /** Compresses the KV cache of every session of {@code model} with a preset until {@link #close()}. */
    public static NexusQuant compress(Model model, Quality quality) {
        return new NexusQuant(model, quality.config());
    }

    /**
     * Compresses with a custom configuration (for example {@code KvSpec.parse("k=e8:3,v=e8:2,evict=snapkv:0.5")}); the
     * configuration need not evict at all ({@code k=e8:4,v=e8:4} only quantizes).
     */
    public static NexusQuant compress(Model model, KvCompression config) {
        return new NexusQuant(model, config);
    }

    /** {@link #compress(Model, Quality)} under the name the Python original's users know ({@code nexusquant_evict}). */
    public static NexusQuant evict(Model model, Quality quality) {
        return compress(model, quality);
    }

    /** {@link #compress(Model, KvCompression)} under the name the Python original's users know. */
    public static NexusQuant evict(Model model, KvCompression config) {
        return compress(model, config);
    }

    /** The configuration in use. */
    public KvCompression config() {
        return installed.config;
    }

    /**
     * What the cache of the most recent session opened in this block holds (tokens seen and kept, bytes, fp16 bytes,
     * ratio, bits per value), live while the session runs and as it was at its close afterwards; empty before any.
     */
    public KvStats stats() {
        KvCache c = installed.last;
        return c == null ? new KvStats(0, 0, 0, 0, 0) : c.stats();
    }

    /** Restores the cache factory the model had before. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            model.setKvCacheFactory(previous);
        }
    }

    /** The installed factory: a {@link KvCompression} that remembers the last cache it made. */
    private static final class Tracking implements KvCacheFactory {
        final KvCompression config;
        volatile KvCache last;

        Tracking(KvCompression config) {
            this.config = config;
        }

        @Override
        public KvCache create(KvLayout layout) {
            KvCache c = config.create(layout);
            last = c;
            return c;
        }

        @Override
        public String describe() {
            return config.describe();
        }
    }
}
