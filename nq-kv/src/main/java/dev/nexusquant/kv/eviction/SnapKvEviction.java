package dev.nexusquant.kv.eviction;

import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.SnapKvScorer;
import dev.nexusquant.engine.tensor.Kernels;

import java.util.Arrays;

/**
 * SnapKV (Li et al., 2024): at the end of the prompt, the last {@code observation} queries vote for the rows they
 * attend to (softmax over the rows each can see, summed over queries and query heads, max-pooled over {@code pool}
 * neighbouring positions) and {@code keepRatio} of the candidates are kept; blocks that leave the window later are
 * ranked by the attention they received, as H2O does.
 */
public record SnapKvEviction(double keepRatio, int sinks, int observation, int pool) implements KeepRatioPolicy {

    public SnapKvEviction {
        EvictionSpecs.checkRatio(keepRatio);
        EvictionSpecs.checkSinks(sinks);
        EvictionSpecs.checkObservation(observation);
        EvictionSpecs.checkPool(pool);
    }


    @Override
    public int observationWindow() {
        return observation > 0 ? observation : 32;
    }

    @Override
    public boolean recordsAttention(boolean afterPrompt) {
        return drops() && afterPrompt;
    }

    @Override
    public float[] scores(Candidates c) {
        PromptQueries q = c.promptQueries();
        if (c.atPromptEnd() && q != null) return Arrays.copyOf(scores(q, pool, Kernels.preferred()), c.count());
        return EvictionPolicy.byReceivedAttention(c);
    }

    /**
     * SnapKV scores of every window row: each recorded query (all query heads of the group, most recent first) gives
     * its softmax over the rows it can see ({@code [group][queries][rows]}); the codec's scorer sums them over queries
     * and heads and max-pools over neighbouring positions.
     *
     * @return [rows] scores
     */
    public static float[] scores(PromptQueries q, int pool, Kernels k) {
        int dim = q.dim(), group = q.group(), rows = q.rows(), cap = q.slots();
        float invSqrtD = (float) (1.0 / Math.sqrt(dim));
        int nObs = Math.min(Math.min(cap, q.recorded()), rows);
        float[] probs = new float[group * nObs * rows]; // [group][nObs][rows]
        for (int o = 0; o < nObs; o++) {
            int slot = (q.recorded() - 1 - o) % cap;
            int qpos = q.positions()[slot];
            for (int g = 0; g < group; g++) {
                int qoff = slot * group * dim + g * dim;
                int base = (g * nObs + o) * rows;
                float max = Float.NEGATIVE_INFINITY;
                for (int r = 0; r < rows; r++) {
                    float sc = q.keyPositions()[r] > qpos ? Float.NEGATIVE_INFINITY
                            : k.dot(q.queries(), qoff, q.keys(), r * dim, dim) * invSqrtD;
                    probs[base + r] = sc;
                    max = Math.max(max, sc);
                }
                if (max == Float.NEGATIVE_INFINITY) {
                    Arrays.fill(probs, base, base + rows, 0f);
                    continue;
                }
                float inv = 1f / k.expShifted(probs, base, rows, max);
                for (int r = 0; r < rows; r++) probs[base + r] *= inv;
            }
        }
        SnapKvScorer scorer = new SnapKvScorer(Math.max(1, nObs), pool, SnapKvScorer.Pooling.MAX, GqaReduce.SUM);
        return scorer.score(probs, 0, group, nObs, rows);
    }

    @Override
    public String spec() {
        return "evict=snapkv:" + keepRatio + ",sinks=" + sinks + ",obs=" + observation + ",pool=" + pool;
    }
}
