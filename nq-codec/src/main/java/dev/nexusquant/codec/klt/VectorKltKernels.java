package dev.nexusquant.codec.klt;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link KltKernels} with the Panama Vector API: per row, each slice of a vector's width keeps its accumulator in a
 * register while the nonzero coefficients are taken in ascending order (one broadcast and one fused multiply-add per
 * coefficient and slice); the columns a row touches stay in L1/L2 (64 KiB at head_dim 128). With room for two rows in
 * the scratch, rows go two at a time and each column vector is loaded once for both. Rows of a multiple of 8 vectors
 * keep their accumulators in named locals. A tail narrower than the vector is done with scalar fused multiply-adds in
 * the same order, so the bits are those of {@link ScalarKltKernels}.
 */
final class VectorKltKernels implements KltKernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        boolean by8 = dim % (8 * F.length()) == 0;
        int r = 0;
        if (work.length >= 2 * dim) {
            for (; r + 1 < n; r += 2) {
                int o = yOff + r * dim;
                System.arraycopy(y, o, work, 0, 2 * dim);
                if (by8) pairBy8(columns, dim, y, o, work);
                else pair(columns, dim, y, o, work);
            }
        }
        for (; r < n; r++) {
            int o = yOff + r * dim;
            System.arraycopy(y, o, work, 0, dim);
            if (by8) rowBy8(columns, dim, y, o, work);
            else row(columns, dim, y, o, work);
        }
    }

    /** One row at {@code o} from its coefficients in {@code work[0, dim)}: a vector slice at a time, then a scalar tail. */
    private static void row(float[] columns, int dim, float[] y, int o, float[] work) {
        int bound = F.loopBound(dim), lanes = F.length();
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

    /** Two rows at {@code o} and {@code o + dim} from {@code work[0, 2 dim)}, a coefficient skipped when zero in both. */
    private static void pair(float[] columns, int dim, float[] y, int o, float[] work) {
        int bound = F.loopBound(dim), lanes = F.length();
        for (int i = 0; i < bound; i += lanes) {
            FloatVector a = FloatVector.zero(F), b = FloatVector.zero(F);
            for (int j = 0; j < dim; j++) {
                float c = work[j], d = work[dim + j];
                if (c == 0f && d == 0f) continue;
                FloatVector col = FloatVector.fromArray(F, columns, j * dim + i);
                a = col.fma(FloatVector.broadcast(F, c), a);
                b = col.fma(FloatVector.broadcast(F, d), b);
            }
            a.intoArray(y, o + i);
            b.intoArray(y, o + dim + i);
        }
        for (int i = bound; i < dim; i++) {
            float a = 0f, b = 0f;
            for (int j = 0; j < dim; j++) {
                float c = work[j], d = work[dim + j];
                if (c == 0f && d == 0f) continue;
                a = Math.fma(c, columns[j * dim + i], a);
                b = Math.fma(d, columns[j * dim + i], b);
            }
            y[o + i] = a;
            y[o + dim + i] = b;
        }
    }

    /**
     * {@link #row} for rows of a multiple of 8 vectors (head_dim 128 at 512 or 256 bits): per block of 8 vectors the
     * accumulators are named locals (kept in registers) and each nonzero coefficient is broadcast once and meets its
     * column's 8 vectors, read in order; per value the same fused multiply-adds in the same order.
     */
    private static void rowBy8(float[] columns, int dim, float[] y, int o, float[] work) {
        int L = F.length();
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

    /**
     * {@link #pair} for rows of a multiple of 8 vectors: 16 named accumulators per block (8 per row), each column
     * vector loaded once for both rows.
     */
    private static void pairBy8(float[] columns, int dim, float[] y, int o, float[] work) {
        int L = F.length();
        for (int i = 0; i < dim; i += 8 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
            FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
            FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
            FloatVector b4 = FloatVector.zero(F), b5 = FloatVector.zero(F), b6 = FloatVector.zero(F), b7 = FloatVector.zero(F);
            for (int j = 0; j < dim; j++) {
                float c = work[j], d = work[dim + j];
                if (c == 0f && d == 0f) continue;
                FloatVector bc = FloatVector.broadcast(F, c), bd = FloatVector.broadcast(F, d);
                int at = j * dim + i;
                FloatVector v = FloatVector.fromArray(F, columns, at);
                a0 = v.fma(bc, a0);
                b0 = v.fma(bd, b0);
                v = FloatVector.fromArray(F, columns, at + L);
                a1 = v.fma(bc, a1);
                b1 = v.fma(bd, b1);
                v = FloatVector.fromArray(F, columns, at + 2 * L);
                a2 = v.fma(bc, a2);
                b2 = v.fma(bd, b2);
                v = FloatVector.fromArray(F, columns, at + 3 * L);
                a3 = v.fma(bc, a3);
                b3 = v.fma(bd, b3);
                v = FloatVector.fromArray(F, columns, at + 4 * L);
                a4 = v.fma(bc, a4);
                b4 = v.fma(bd, b4);
                v = FloatVector.fromArray(F, columns, at + 5 * L);
                a5 = v.fma(bc, a5);
                b5 = v.fma(bd, b5);
                v = FloatVector.fromArray(F, columns, at + 6 * L);
                a6 = v.fma(bc, a6);
                b6 = v.fma(bd, b6);
                v = FloatVector.fromArray(F, columns, at + 7 * L);
                a7 = v.fma(bc, a7);
                b7 = v.fma(bd, b7);
            }
            int p = o + i, q = o + dim + i;
            a0.intoArray(y, p);
            a1.intoArray(y, p + L);
            a2.intoArray(y, p + 2 * L);
            a3.intoArray(y, p + 3 * L);
            a4.intoArray(y, p + 4 * L);
            a5.intoArray(y, p + 5 * L);
            a6.intoArray(y, p + 6 * L);
            a7.intoArray(y, p + 7 * L);
            b0.intoArray(y, q);
            b1.intoArray(y, q + L);
            b2.intoArray(y, q + 2 * L);
            b3.intoArray(y, q + 3 * L);
            b4.intoArray(y, q + 4 * L);
            b5.intoArray(y, q + 5 * L);
            b6.intoArray(y, q + 6 * L);
            b7.intoArray(y, q + 7 * L);
        }
    }
}
