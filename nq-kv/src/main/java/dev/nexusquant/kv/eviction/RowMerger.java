package dev.nexusquant.kv.eviction;

/**
 * Folds the values of dropped rows into kept rows ({@link MergingEviction}): each dropped row goes to the kept row
 * whose key has the highest cosine similarity with its own, if that is at least the threshold; every kept row that
 * received some becomes the mean of its own value and theirs, weighted by their scores. Keys are not changed.
 */
public final class RowMerger {

    /** Weight of a row whose score is zero or negative (no evidence: rows count alike). */
    static final float MIN_WEIGHT = 1e-6f;

    private RowMerger() {
    }

    /**
     * Merges in place.
     *
     * @param keys      [rows][dim] keys (only read)
     * @param values    [rows][dim] values; the kept rows' are replaced by their merged means
     * @param rows      rows considered: {@code [0, rows)}
     * @param keep      ascending indices of the kept rows (the others are dropped)
     * @param scores    [rows] the policy's scores, the weights of the means
     * @param threshold least cosine similarity for a merge
     * @return dropped rows that were merged
     */
    public static int merge(float[] keys, float[] values, int rows, int dim, int[] keep, float[] scores, double threshold) {
        if (keep.length == 0 || keep.length == rows) return 0;
        boolean[] kept = new boolean[rows];
        for (int i : keep) kept[i] = true;
        double[] norm = new double[rows];
        for (int r = 0; r < rows; r++) norm[r] = Math.sqrt(dot(keys, r * dim, keys, r * dim, dim));
        double[] acc = new double[keep.length * dim]; // [kept][dim] weighted sums of the merged values
        double[] weight = new double[keep.length];
        int merged = 0;
        for (int j = 0; j < rows; j++) {
            if (kept[j]) continue;
            int best = -1;
            double bestCos = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < keep.length; i++) {
                int r = keep[i];
                double den = norm[j] * norm[r];
                double cos = den > 0 ? dot(keys, j * dim, keys, r * dim, dim) / den : 0;
                if (cos > bestCos) {
                    bestCos = cos;
                    best = i;
                }
            }
            if (best < 0 || bestCos < threshold) continue;
            double w = Math.max(MIN_WEIGHT, scores[j]);
            for (int c = 0; c < dim; c++) acc[best * dim + c] += w * values[j * dim + c];
            weight[best] += w;
            merged++;
        }
        for (int i = 0; i < keep.length; i++) {
            if (weight[i] == 0) continue;
            int r = keep[i];
            double w = Math.max(MIN_WEIGHT, scores[r]);
            double inv = 1 / (w + weight[i]);
            for (int c = 0; c < dim; c++) values[r * dim + c] = (float) ((w * values[r * dim + c] + acc[i * dim + c]) * inv);
        }
        return merged;
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return s;
    }
}
