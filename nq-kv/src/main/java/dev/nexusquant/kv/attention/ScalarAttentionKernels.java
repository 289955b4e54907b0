package dev.nexusquant.kv.attention;

import dev.nexusquant.engine.tensor.Kernels;

/** Plain Java loops: the reference twin of {@link VectorAttentionKernels}. */
final class ScalarAttentionKernels implements AttentionKernels {

    static final ScalarAttentionKernels INSTANCE = new ScalarAttentionKernels();

    private ScalarAttentionKernels() {
    }

    @Override
    public Kernels base() {
        return Kernels.scalar();
    }

    @Override
    public void scale(float[] y, int off, int n, float s) {
        for (int i = 0; i < n; i++) y[off + i] *= s;
    }

    @Override
    public float max(float[] s, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, s[off + i]);
        return m;
    }
}
