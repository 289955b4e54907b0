package dev.nexusquant.kv.attention;

/** Plain Java loops: the reference twin of {@link PanamaVectorMath}. */
final class ScalarVectorMath implements VectorMath {

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public void scale(float[] y, int off, int n, float s) {
        for (int i = 0; i < n; i++) y[off + i] *= s;
    }

    @Override
    public float expInPlace(float[] s, int off, int n, float max) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(s[off + i] - max);
            s[off + i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public float max(float[] s, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, s[off + i]);
        return m;
    }
}
