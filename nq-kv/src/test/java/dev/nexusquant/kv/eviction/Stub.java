package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.PositionalRotation;

/** Candidates with given evidence, for the policy tests. */
record Stub(int count, boolean atPromptEnd, float[] attentionSums, float[] attentionMeans, PromptQueries promptQueries,
            int dim, float[] values, PositionalRotation rope) implements Candidates {

    Stub(int count, boolean atPromptEnd, float[] attentionSums, float[] attentionMeans, PromptQueries promptQueries) {
        this(count, atPromptEnd, attentionSums, attentionMeans, promptQueries, 0, null, null);
    }

    static Stub of(int count, boolean atPromptEnd) {
        return new Stub(count, atPromptEnd, null, null, null);
    }
}
