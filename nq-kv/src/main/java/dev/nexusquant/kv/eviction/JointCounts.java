package dev.nexusquant.kv.eviction;

import java.util.Arrays;

/**
 * The pooling of {@link JointAcrossHeads} (AdaKV): how many rows each head of a layer keeps when the heads choose
 * their rows together.
 *
 * <p>Each head has its candidate rows' scores, its sinks (its first rows, always kept) and its own share (rows it
 * would keep alone, sinks included); a row costs its head's bytes per row. The pool is the bytes of every head's
 * non-sink share. Every head first takes its best {@code floor} of its non-sink share; then the rows left, over all
 * heads, are taken by score normalised per head (a head's non-sink scores divided by their sum; equal scores when
 * the sum is 0), best first, each while it fits the pool. Within a head this is the order its own ranking takes, so
 * the counts are all the cache needs.
 */
public final class JointCounts {

    private JointCounts() {
    }

    /**
     * @param scores  [heads][rows of the head] candidate scores (the first {@code sinks[h]} are the sinks)
     * @param sinks   [heads] rows always kept
     * @param shares  [heads] rows each head keeps alone, sinks included
     * @param rowCost [heads] bytes of one more kept row in each head (all 1 to count rows)
     * @param floor   fraction of its own non-sink share every head keeps, in [0, 1]
     * @return [heads] rows each head keeps, sinks included
     */
    public static int[] counts(float[][] scores, int[] sinks, int[] shares, double[] rowCost, double floor) {
        int heads = scores.length;
        int[] out = new int[heads];
        double pool = 0;
        int total = 0;
        float[][] norm = new float[heads][];
        for (int h = 0; h < heads; h++) {
            int n = scores[h].length, s = Math.min(sinks[h], n);
            int own = Math.max(0, Math.min(shares[h], n) - s);
            pool += own * rowCost[h];
            out[h] = s;
            double sum = 0;
            for (int r = s; r < n; r++) sum += Math.max(0f, scores[h][r]);
            norm[h] = new float[n];
            for (int r = s; r < n; r++) norm[h][r] = sum > 0 ? (float) (Math.max(0f, scores[h][r]) / sum) : 1f / (n - s);
            total += n - s;
        }
        // every candidate row as (normalised score, head, row), best first; ties to the later row, as the Evictor
        long[] order = new long[total];
        int m = 0;
        int[][] rank = new int[heads][]; // per head: its non-sink rows, best first
        for (int h = 0; h < heads; h++) {
            int n = scores[h].length, s = Math.min(sinks[h], n);
            Integer[] idx = new Integer[n - s];
            for (int r = s; r < n; r++) idx[r - s] = r;
            float[] nh = norm[h];
            Arrays.sort(idx, (a, b) -> nh[a] != nh[b] ? Float.compare(nh[b], nh[a]) : Integer.compare(b, a));
            rank[h] = new int[idx.length];
            for (int i = 0; i < idx.length; i++) {
                rank[h][i] = idx[i];
                order[m++] = ((long) h << 32) | i; // the i-th best row of head h
            }
        }
        // the floor
        int[] taken = new int[heads];
        for (int h = 0; h < heads; h++) {
            int own = Math.max(0, Math.min(shares[h], scores[h].length) - Math.min(sinks[h], scores[h].length));
            taken[h] = (int) Math.min(rank[h].length, Math.round(floor * own));
            pool -= taken[h] * rowCost[h];
        }
        // the rest by normalised score; a head's rows come in its own order, so the i-th best is only taken after the
        // (i-1)-th: sorting by score with ties broken by rank keeps that true
        Long[] boxed = new Long[m];
        for (int i = 0; i < m; i++) boxed[i] = order[i];
        Arrays.sort(boxed, (a, b) -> {
            int ha = (int) (a >>> 32), ia = (int) (long) a, hb = (int) (b >>> 32), ib = (int) (long) b;
            float sa = norm[ha][rank[ha][ia]], sb = norm[hb][rank[hb][ib]];
            if (sa != sb) return Float.compare(sb, sa);
            if (ha == hb) return Integer.compare(ia, ib);
            return Integer.compare(rank[hb][ib], rank[ha][ia]);
        });
        for (Long e : boxed) {
            int h = (int) (e >>> 32), i = (int) (long) e;
            if (i < taken[h]) continue; // already in (the floor)
            if (i != taken[h]) continue; // a better row of this head did not fit
            if (rowCost[h] > pool + 1e-9) continue;
            pool -= rowCost[h];
            taken[h]++;
        }
        for (int h = 0; h < heads; h++) out[h] += taken[h];
        return out;
    }
}
