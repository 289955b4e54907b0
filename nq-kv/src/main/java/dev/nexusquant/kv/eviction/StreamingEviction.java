package dev.nexusquant.kv.eviction;

/**
 * StreamingLLM (Xiao et al., 2024): keeps the first {@code sinks} positions (the attention sinks) and the recent
 * window, drops every other row as it leaves the window.
 */
public record StreamingEviction(int sinks) implements EvictionPolicy {

    public StreamingEviction {
        EvictionSpecs.checkSinks(sinks);
    }

    @Override
    public boolean drops() {
        return true;
    }

    @Override
    public int keepCount(int candidates) {
        return 0;
    }

    @Override
    public boolean recordsAttention(boolean afterPrompt) {
        return false;
    }

    @Override
    public float[] scores(Candidates c) {
        return new float[c.count()];
    }

    @Override
    public String spec() {
        return "evict=streaming,sinks=" + sinks;
    }
}
