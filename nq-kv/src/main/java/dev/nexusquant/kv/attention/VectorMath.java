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

    VectorMath SCALAR = new ScalarVectorMath();
    VectorMath PANAMA = PanamaVectorMath.create();

    static VectorMath get() {
        return PANAMA != null && !Boolean.getBoolean("nq.scalar") ? PANAMA : SCALAR;
    }
}
