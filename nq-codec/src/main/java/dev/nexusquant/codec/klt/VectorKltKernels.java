package dev.nexusquant.codec.klt;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link KltKernels} with the Panama Vector API: per row, each slice of a vector's width keeps its accumulator in a
 * register while the nonzero coefficients are taken in ascending order (one broadcast and one fused multiply-add per
 * coefficient and slice); the columns a row touches stay in L1/L2 (64 KiB at head_dim 128). A tail narrower than the
 * vector is done with scalar fused multiply-adds in the same order, so the bits are those of {@link ScalarKltKernels}.
 */
final class VectorKltKernels implements KltKernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        if (dim % (8 * F.length()) == 0) {
            inverseBy8(columns, dim, y, yOff, n, work);
            return;
        }
        int bound = F.loopBound(dim), lanes = F.length();
        for (int r = 0; r < n; r++) {
            int o = yOff + r * dim;
            System.arraycopy(y, o, work, 0, dim);
            for (int i = 0; i < bound; i += lanes) {
                FloatVector acc = FloatVector.zero(F);
                for (int j = 0; j < dim; j++) {
                    float c = work[j];
                    if (c == 0f) continue;
                    acc = FloatVector.fromArray(F, columns, j * dim + i).fma(FloatVector.broadcast(F, c), acc);
                }
                acc.intoArray(y, o + i);
            }
            for (int i = bound; i < dim; i++) {
                float acc = 0f;
                for (int j = 0; j < dim; j++) {
                    float c = work[j];
                    if (c != 0f) acc = Math.fma(c, columns[j * dim + i], acc);
                }
                y[o + i] = acc;
            }
        }
    }

    /**
     * {@link #inverse} for rows of a multiple of 8 vectors (head_dim 128 at 512 or 256 bits): per block of 8 vectors of
     * the row, the 8 accumulators are named locals (kept in registers) and each nonzero coefficient is broadcast once
     * and meets its column's 8 vectors, the columns read in order; per value the same fused multiply-adds in the same
     * order (ascending coefficients, from zero) as the scalar twin.
     */
    private static void inverseBy8(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        int L = F.length();
        for (int r = 0; r < n; r++) {
            int o = yOff + r * dim;
            System.arraycopy(y, o, work, 0, dim);
            for (int i = 0; i < dim; i += 8 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
                FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
                for (int j = 0; j < dim; j++) {
                    float c = work[j];
                    if (c == 0f) continue;
                    FloatVector b = FloatVector.broadcast(F, c);
                    int at = j * dim + i;
                    a0 = FloatVector.fromArray(F, columns, at).fma(b, a0);
                    a1 = FloatVector.fromArray(F, columns, at + L).fma(b, a1);
                    a2 = FloatVector.fromArray(F, columns, at + 2 * L).fma(b, a2);
                    a3 = FloatVector.fromArray(F, columns, at + 3 * L).fma(b, a3);
                    a4 = FloatVector.fromArray(F, columns, at + 4 * L).fma(b, a4);
                    a5 = FloatVector.fromArray(F, columns, at + 5 * L).fma(b, a5);
                    a6 = FloatVector.fromArray(F, columns, at + 6 * L).fma(b, a6);
                    a7 = FloatVector.fromArray(F, columns, at + 7 * L).fma(b, a7);
                }
                a0.intoArray(y, o + i);
                a1.intoArray(y, o + i + L);
                a2.intoArray(y, o + i + 2 * L);
                a3.intoArray(y, o + i + 3 * L);
                a4.intoArray(y, o + i + 4 * L);
                a5.intoArray(y, o + i + 5 * L);
                a6.intoArray(y, o + i + 6 * L);
                a7.intoArray(y, o + i + 7 * L);
            }
        }
    }
}
