package dev.nexusquant.kv.attention;

/**
 * The few vector operations attention over a cache needs. {@link #SCALAR} is the plain reference; {@link #PANAMA}
 * uses the Vector API (jdk.incubator.vector). {@link #get()} returns the Panama one unless the system property
 * {@code nq.scalar=true} is set or the Vector API is unavailable. Tests compare the two on random inputs.
 */
public interface VectorMath {

    /** {@code sum_i a[aOff+i] * b[bOff+i]} for {@code i < n}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** {@code y[yOff+i] += alpha * x[xOff+i]} for {@code i < n}. */
    void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n);

    /** {@code y[off+i] *= s} for {@code i < n}. */
    void scale(float[] y, int off, int n, float s);

    /**
     * Replaces {@code s[off+i]} by {@code exp(s[off+i] - max)} for {@code i < n} and returns their sum. Entries equal to
     * {@code -Infinity} (masked) become 0.
     */
    float expInPlace(float[] s, int off, int n, float max);

    /** The largest of {@code s[off .. off+n)}; {@code -Infinity} when n == 0. */
    float max(float[] s, int off, int n);

    /**
     * Scores of {@code m} queries against {@code cnt} rows: {@code s[j * stride + r] = (q_j . k_r + bias_j) * scale}.
     *
     * @param q    [m][d] queries from {@code qOff}
     * @param k    [cnt][d] rows
     * @param bias [m] added to query j's dot products, or null
     * @param s    [m][stride] output
     */
    default void scores(float[] q, int qOff, int m, int d, float[] k, int cnt, float[] bias, float scale,
                        float[] s, int stride) {
        for (int j = 0; j < m; j++) {
            float b = bias == null ? 0f : bias[j];
            for (int r = 0; r < cnt; r++) s[j * stride + r] = (dot(q, qOff + j * d, k, r * d, d) + b) * scale;
        }
    }

    /**
     * {@code acc_j += sum_r p[j * stride + r] * v_r} for {@code j < m}: the weighted sum of {@code cnt} value rows.
     *
     * @param p   [m][stride] weights
     * @param v   [cnt][d] rows
     * @param acc [m][d] accumulators
     */
    default void accumulate(float[] p, int stride, int m, int cnt, float[] v, int d, float[] acc) {
        for (int j = 0; j < m; j++) {
            for (int r = 0; r < cnt; r++) {
                float w = p[j * stride + r];
                if (w != 0f) axpy(w, v, r * d, acc, j * d, d);
            }
        }
    }

    VectorMath SCALAR = new ScalarVectorMath();
    VectorMath PANAMA = PanamaVectorMath.create();

    static VectorMath get() {
        return PANAMA != null && !Boolean.getBoolean("nq.scalar") ? PANAMA : SCALAR;
    }
}
