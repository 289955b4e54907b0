package dev.nexusquant.kv.eviction;

/** Keeps every token. */
public record NoEviction() implements EvictionPolicy {

    static final NoEviction INSTANCE = new NoEviction();

    @Override
    public boolean drops() {
        return false;
    }

    @Override
    public int sinks() {
        return 0;
    }

    @Override
    public int keepCount(int candidates) {
        return candidates;
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
        return "evict=none";
    }
}
