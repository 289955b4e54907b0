package dev.nexusquant.codec.klt;

/** Plain loops: the reference for {@code VectorKltKernels}, and the kernels used without the Vector API. */
final class ScalarKltKernels implements KltKernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        for (int r = 0; r < n; r++) {
            int o = yOff + r * dim;
            System.arraycopy(y, o, work, 0, dim);
            java.util.Arrays.fill(y, o, o + dim, 0f);
            for (int j = 0; j < dim; j++) {
                float c = work[j];
                if (c == 0f) continue;
                int base = j * dim;
                for (int i = 0; i < dim; i++) y[o + i] = Math.fma(c, columns[base + i], y[o + i]);
            }
        }
    }
}
