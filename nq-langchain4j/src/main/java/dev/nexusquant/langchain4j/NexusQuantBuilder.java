package dev.nexusquant.langchain4j;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvSpec;

import java.nio.file.Path;
import java.util.List;

/** The settings both NexusQuant LangChain4j models take; {@code B} is the concrete builder. */
public abstract class NexusQuantBuilder<B extends NexusQuantBuilder<B>> {

    final NexusQuantEngine.Settings s = new NexusQuantEngine.Settings();

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** The GGUF file to load (the chat model closes it). */
    public B modelPath(Path p) { s.modelPath = p; return self(); }

    /** A model already loaded (shared; the caller closes it). */
    public B model(Model m) { s.model = m; return self(); }

    /** KV cache: none (dense fp32, the default), high, balanced, max, or a spec (README: KV specs). */
    public B kv(String spec) {
        if (!spec.equalsIgnoreCase("none")) KvSpec.parse(spec); // a bad spec fails here, not at the first call
        s.kv = spec;
        return self();
    }

    public B kv(KvCacheFactory f) { s.kvFactory = f; return self(); }

    /** Bytes all conversations' KV caches may hold together, e.g. "256M" (default 256 MiB). */
    public B kvMemory(String size) { s.kvMemory = KvSpec.parseSize(size); return self(); }

    public B kvMemory(long bytes) { s.kvMemory = bytes; return self(); }

    /** Default temperature of calls (0.8); 0 is greedy. */
    public B temperature(double t) {
        if (!(t >= 0 && t <= 100)) throw new IllegalArgumentException("temperature must be in [0, 100], is " + t);
        s.temperature = t;
        return self();
    }

    /** Default nucleus threshold of calls (1: off), in (0, 1]. */
    public B topP(double p) {
        if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], is " + p);
        s.topP = p;
        return self();
    }

    /** Default max output tokens of calls (256). */
    public B maxTokens(int n) { s.maxTokens = n; return self(); }

    /** Sampler seed of every call (default: random per call). */
    public B seed(long seed) { s.seed = seed; return self(); }

    public B stop(List<String> stop) { s.stop = List.copyOf(stop); return self(); }

    /**
     * Where conversations go when the KV memory or the session slots are full: {@code evict} (the default: dropped,
     * their next call prefills the history again), {@code dir:PATH} or {@code redis://HOST:PORT[/DB]} (saved, and
     * restored bit-exact on their next call). A bad spec fails in {@code build()}.
     */
    public B kvStore(String spec) {
        s.kvStore = spec.strip();
        return self();
    }

    /**
     * Share the start of new conversations' prompts (a long system message) through the {@link #kvStore} in chunks of
     * 256 tokens: prefilled once, replayed by the next conversation with the same results (default off; needs a store).
     */
    public B prefixStore(boolean on) {
        s.prefixStore = on;
        return self();
    }

    /** Conversations whose caches are kept for their next call (16). */
    public B maxSessions(int n) { s.maxSessions = n; return self(); }

    /** Calls generating at once (1); more wait, up to 64, then fail with a RateLimitException. */
    public B maxConcurrent(int n) { s.maxConcurrent = n; return self(); }
}
