package dev.nexusquant.kv;

import java.util.Arrays;

/**
 * Feeds the codec's importance and eviction stages from what the cache holds: the attention probabilities of the
 * prompt's last queries over the staged keys (SnapKV), and the selection of kept rows.
 */
final class Importance {

    private Importance() {
    }

    /**
     * SnapKV votes: for every recorded observation query (all query heads of the group) the softmax over the staged
     * rows it can see, summed into {@code score[0 .. candidates)}.
     */
    static void snapKv(CompressedKvCache cache, CompressedKvCache.Head hd, int candidates, float[] score) {
        int dim = cache.dim();
        int group = cache.group();
        RowWindow w = hd.window;
        int rows = w.count();
        int cap = hd.obsPos.length;
        int nObs = Math.min(cap, hd.obsCount);
        float[] keys = new float[rows * dim];
        w.keys(0, rows, keys, 0);
        float[] logits = new float[rows];
        for (int o = 0; o < nObs; o++) {
            int slot = (hd.obsCount - 1 - o) % cap;
            int qpos = hd.obsPos[slot];
            for (int g = 0; g < group; g++) {
                int qoff = slot * group * dim + g * dim;
                int visible = 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int r = 0; r < rows; r++) {
                    if (w.position(r) > qpos) {
                        logits[r] = Float.NEGATIVE_INFINITY;
                        continue;
                    }
                    float sc = cache.vm().dot(hd.obsQ, qoff, keys, r * dim, dim) * cache.invSqrtD();
                    logits[r] = sc;
                    max = Math.max(max, sc);
                    visible++;
                }
                if (visible == 0) continue;
                float sum = cache.vm().expInPlace(logits, 0, rows, max);
                float inv = 1f / sum;
                for (int r = 0; r < candidates; r++) score[r] += logits[r] * inv;
            }
        }
    }

    /**
     * The rows to keep: the sinks (positions below {@code sinks}), then the best {@code keep} of the others by
     * score (max-pooled over {@code pool} neighbours when asked), in ascending order.
     */
    static int[] select(float[] score, int[] pos, int n, int keep, int sinks, int pool, boolean pooled) {
        float[] s = pooled && pool > 1 ? maxPool(score, n, pool) : score;
        boolean[] take = new boolean[n];
        int taken = 0;
        for (int i = 0; i < n; i++) {
            if (pos[i] < sinks) {
                take[i] = true;
                taken++;
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(s[b], s[a]));
        for (int i = 0; i < n && taken < keep; i++) {
            if (!take[order[i]]) {
                take[order[i]] = true;
                taken++;
            }
        }
        int[] out = new int[taken];
        int k = 0;
        for (int i = 0; i < n; i++) if (take[i]) out[k++] = i;
        return out;
    }

    private static float[] maxPool(float[] s, int n, int kernel) {
        float[] out = new float[n];
        int h = kernel / 2;
        for (int i = 0; i < n; i++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int j = Math.max(0, i - h); j <= Math.min(n - 1, i + h); j++) m = Math.max(m, s[j]);
            out[i] = m;
        }
        return out;
    }
}
