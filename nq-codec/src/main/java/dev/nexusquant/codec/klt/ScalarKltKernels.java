package dev.nexusquant.codec.klt;

/** Plain loops: the reference for {@code VectorKltKernels}, and the kernels used without the Vector API. */
final class ScalarKltKernels implements KltKernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int rowsPerPass() {
        return 2;
    }

    @Override
    public void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        int r = 0;
        if (work.length >= 3 * dim) { // rows three at a time: a coefficient skipped when it is zero in all three
            for (; r + 2 < n; r += 3) {
                int o = yOff + r * dim;
                System.arraycopy(y, o, work, 0, 3 * dim);
                java.util.Arrays.fill(y, o, o + 3 * dim, 0f);
                for (int j = 0; j < dim; j++) {
                    float c = work[j], d = work[dim + j], e = work[2 * dim + j];
                    if (c == 0f && d == 0f && e == 0f) continue;
                    int base = j * dim;
                    for (int i = 0; i < dim; i++) {
                        y[o + i] = Math.fma(c, columns[base + i], y[o + i]);
                        y[o + dim + i] = Math.fma(d, columns[base + i], y[o + dim + i]);
                        y[o + 2 * dim + i] = Math.fma(e, columns[base + i], y[o + 2 * dim + i]);
                    }
                }
            }
        }
        if (work.length >= 2 * dim) { // rows two at a time: a coefficient skipped when it is zero in both
            for (; r + 1 < n; r += 2) {
                int o = yOff + r * dim;
                System.arraycopy(y, o, work, 0, 2 * dim);
                java.util.Arrays.fill(y, o, o + 2 * dim, 0f);
                for (int j = 0; j < dim; j++) {
                    float c = work[j], d = work[dim + j];
                    if (c == 0f && d == 0f) continue;
                    int base = j * dim;
                    for (int i = 0; i < dim; i++) {
                        y[o + i] = Math.fma(c, columns[base + i], y[o + i]);
                        y[o + dim + i] = Math.fma(d, columns[base + i], y[o + dim + i]);
                    }
                }
            }
        }
        for (; r < n; r++) {
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
