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
}
