package dev.nexusquant.kv;

import dev.nexusquant.codec.eviction.Budget;
import dev.nexusquant.codec.eviction.EvictionPolicy;
import dev.nexusquant.codec.eviction.Evictor;
import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.SnapKvScorer;

/**
 * Feeds the codec's importance (stage 1) and eviction (stage 2) from what the cache holds: the attention
 * probabilities of the prompt's last queries over the staged keys go to {@link SnapKvScorer}; the scores go to
 * {@link Evictor}, which keeps the sinks and the best of the rest.
 */
final class Importance {

    private Importance() {
    }

    /**
     * SnapKV scores of the oldest {@code candidates} staged rows: every recorded observation query (all query heads of
     * the group) gives its softmax over the rows it can see ({@code [group][w][rows]}), the codec's scorer sums them over
     * queries and heads and max-pools over neighbouring positions.
     */
    static float[] snapKv(CompressedKvCache cache, CompressedKvCache.Head hd, int candidates) {
        int dim = cache.dim();
        int group = cache.group();
        RowWindow w = hd.window;
        int rows = w.count();
        int cap = hd.obsPos.length;
        int nObs = Math.min(Math.min(cap, hd.obsCount), rows);
        float[] keys = new float[rows * dim];
        w.keys(0, rows, keys, 0);
        float[] probs = new float[group * nObs * rows]; // [group][nObs][rows]
        float[] obs = CompressedKvCache.observations(hd);
        for (int o = 0; o < nObs; o++) {
            int slot = (hd.obsCount - 1 - o) % cap;
            int qpos = hd.obsPos[slot];
            for (int g = 0; g < group; g++) {
                int qoff = slot * group * dim + g * dim;
                int base = (g * nObs + o) * rows;
                float max = Float.NEGATIVE_INFINITY;
                for (int r = 0; r < rows; r++) {
                    float sc = w.position(r) > qpos ? Float.NEGATIVE_INFINITY
                            : cache.kernels().dot(obs, qoff, keys, r * dim, dim) * cache.invSqrtD();
                    probs[base + r] = sc;
                    max = Math.max(max, sc);
                }
                if (max == Float.NEGATIVE_INFINITY) {
                    java.util.Arrays.fill(probs, base, base + rows, 0f);
                    continue;
                }
                float inv = 1f / cache.kernels().expShifted(probs, base, rows, max);
                cache.vm().scale(probs, base, rows, inv);
            }
        }
        int pool = cache.config().eviction().pool();
        SnapKvScorer scorer = new SnapKvScorer(Math.max(1, nObs), pool, SnapKvScorer.Pooling.MAX, GqaReduce.SUM);
        return java.util.Arrays.copyOf(scorer.score(probs, 0, group, nObs, rows), candidates);
    }

    /** The rows to keep: the first {@code sinks}, then the best-scored up to {@code keep} in all, ascending. */
    static int[] select(float[] score, int candidates, int keep, int sinks) {
        return Evictor.select(score, candidates, new EvictionPolicy(sinks, 0, Budget.tokens(keep)));
    }
}
