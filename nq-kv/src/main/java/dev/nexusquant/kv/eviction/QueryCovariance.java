package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.attention.AttentionKernels;

/**
 * Expected attention's two sums for many queries at the cost of few: for centred queries {@code y_o} and their mean
 * {@code mu}, a key's mean logit {@code k.mu} and its spread {@code sum over o of (y_o . k)^2 = k^T S k} with
 * {@code S = sum over o of y_o y_o^T}. Summing the queries one dot product each costs {@code n * dim} per key; with
 * {@code S} built once ({@code n * dim^2}) a key costs {@code dim * (dim + 1)}, whatever {@code n}. The sums are the
 * same in exact arithmetic and differ by rounding (double throughout, products of floats exact).
 */
final class QueryCovariance {

    private final int dim;
    private final double[] cols; // [dim][dim + 1]: S's columns, then mu
    private final double[] dots; // [dim + 1] scratch
    private final AttentionKernels kernels;

    /**
     * @param y   [n][dim] centred queries
     * @param mu  [dim] their mean
     */
    QueryCovariance(float[] y, int n, int dim, float[] mu, AttentionKernels kernels) {
        if (n <= 0 || dim <= 0 || y.length < n * dim || mu.length < dim) {
            throw new IllegalArgumentException("queries " + n + " of " + dim + " in " + y.length + ", mean " + mu.length);
        }
        this.dim = dim;
        this.kernels = kernels;
        this.cols = new double[dim * (dim + 1)];
        this.dots = new double[dim + 1];
        double[] wide = new double[n * dim]; // [n][dim]
        for (int i = 0; i < wide.length; i++) wide[i] = y[i];
        float[] column = new float[n];
        double[] s = new double[dim];
        for (int j = 0; j < dim; j++) {
            for (int o = 0; o < n; o++) column[o] = y[o * dim + j];
            kernels.dotsInDouble(wide, dim, n, column, 0, s); // s[i] = sum over o of y[o][i] * y[o][j]
            for (int i = 0; i < dim; i++) cols[i * (dim + 1) + j] = s[i];
        }
        for (int i = 0; i < dim; i++) cols[i * (dim + 1) + dim] = mu[i];
    }

    /** {@code k.mu} into {@code out[0]} and {@code k^T S k} into {@code out[1]}, {@code k} the {@code dim} floats at {@code off}. */
    void sums(float[] keys, int off, double[] out) {
        kernels.dotsInDouble(cols, dim + 1, dim, keys, off, dots); // dots[j] = (S k)_j, dots[dim] = k.mu
        double q = 0;
        for (int i = 0; i < dim; i++) q += keys[off + i] * dots[i];
        out[0] = dots[dim];
        out[1] = q;
    }
}
