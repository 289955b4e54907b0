package dev.nexusquant.kv.eviction;

/** Candidates with given evidence, for the policy tests. */
record Stub(int count, boolean atPromptEnd, float[] attentionSums, float[] attentionMeans, PromptQueries promptQueries)
        implements Candidates {

    static Stub of(int count, boolean atPromptEnd) {
        return new Stub(count, atPromptEnd, null, null, null);
    }
}
