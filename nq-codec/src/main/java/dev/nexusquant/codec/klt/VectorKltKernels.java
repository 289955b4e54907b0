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

    /** Three at a time where 24 accumulators and their operands fit the 32 registers of 512-bit vectors, else two. */
    @Override
    public int rowsPerPass() {
        return F.length() >= 16 ? 3 : 2;
    }

    @Override
    public void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work) {
        boolean by8 = dim % (8 * F.length()) == 0;
        int r = 0;
        if (work.length >= 3 * dim) {
            for (; r + 2 < n; r += 3) {
                int o = yOff + r * dim;
                System.arraycopy(y, o, work, 0, 3 * dim);
                if (by8) tripleBy8(columns, dim, y, o, work);
                else triple(columns, dim, y, o, work);
            }
        }
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

    /** Three rows at {@code o}, {@code o + dim}, {@code o + 2 dim} from {@code work[0, 3 dim)}, a coefficient skipped when zero in all three. */
    private static void triple(float[] columns, int dim, float[] y, int o, float[] work) {
        int bound = F.loopBound(dim), lanes = F.length();
        for (int i = 0; i < bound; i += lanes) {
            FloatVector a = FloatVector.zero(F), b = FloatVector.zero(F), e = FloatVector.zero(F);
            for (int j = 0; j < dim; j++) {
                float c = work[j], d = work[dim + j], f = work[2 * dim + j];
                if (c == 0f && d == 0f && f == 0f) continue;
                FloatVector col = FloatVector.fromArray(F, columns, j * dim + i);
                a = col.fma(FloatVector.broadcast(F, c), a);
                b = col.fma(FloatVector.broadcast(F, d), b);
                e = col.fma(FloatVector.broadcast(F, f), e);
            }
            a.intoArray(y, o + i);
            b.intoArray(y, o + dim + i);
            e.intoArray(y, o + 2 * dim + i);
        }
        for (int i = bound; i < dim; i++) {
            float a = 0f, b = 0f, e = 0f;
            for (int j = 0; j < dim; j++) {
                float c = work[j], d = work[dim + j], f = work[2 * dim + j];
                if (c == 0f && d == 0f && f == 0f) continue;
                float col = columns[j * dim + i];
                a = Math.fma(c, col, a);
                b = Math.fma(d, col, b);
                e = Math.fma(f, col, e);
            }
            y[o + i] = a;
            y[o + dim + i] = b;
            y[o + 2 * dim + i] = e;
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

    /**
     * {@link #triple} for rows of a multiple of 8 vectors: 24 named accumulators per block (8 per row), each column
     * vector loaded once for the three rows (512-bit vectors: the accumulators, three broadcasts and the column vector
     * take 28 of the 32 registers). In the micro-benchmark of the notes 1.2-1.5x faster per row than two at a time.
     */
    private static void tripleBy8(float[] columns, int dim, float[] y, int o, float[] work) {
        int L = F.length();
        for (int i = 0; i < dim; i += 8 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
            FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;
            for (int j = 0; j < dim; j++) {
                float wa = work[j], wb = work[dim + j], wc = work[2 * dim + j];
                if (wa == 0f && wb == 0f && wc == 0f) continue;
                FloatVector ba = FloatVector.broadcast(F, wa), bb = FloatVector.broadcast(F, wb), bc = FloatVector.broadcast(F, wc);
                int at = j * dim + i;
                FloatVector v = FloatVector.fromArray(F, columns, at);
                a0 = v.fma(ba, a0);
                b0 = v.fma(bb, b0);
                c0 = v.fma(bc, c0);
                v = FloatVector.fromArray(F, columns, at + L);
                a1 = v.fma(ba, a1);
                b1 = v.fma(bb, b1);
                c1 = v.fma(bc, c1);
                v = FloatVector.fromArray(F, columns, at + 2 * L);
                a2 = v.fma(ba, a2);
                b2 = v.fma(bb, b2);
                c2 = v.fma(bc, c2);
                v = FloatVector.fromArray(F, columns, at + 3 * L);
                a3 = v.fma(ba, a3);
                b3 = v.fma(bb, b3);
                c3 = v.fma(bc, c3);
                v = FloatVector.fromArray(F, columns, at + 4 * L);
                a4 = v.fma(ba, a4);
                b4 = v.fma(bb, b4);
                c4 = v.fma(bc, c4);
                v = FloatVector.fromArray(F, columns, at + 5 * L);
                a5 = v.fma(ba, a5);
                b5 = v.fma(bb, b5);
                c5 = v.fma(bc, c5);
                v = FloatVector.fromArray(F, columns, at + 6 * L);
                a6 = v.fma(ba, a6);
                b6 = v.fma(bb, b6);
                c6 = v.fma(bc, c6);
                v = FloatVector.fromArray(F, columns, at + 7 * L);
                a7 = v.fma(ba, a7);
                b7 = v.fma(bb, b7);
                c7 = v.fma(bc, c7);
            }
            int p = o + i, q = o + dim + i, t = o + 2 * dim + i;
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
            c0.intoArray(y, t);
            c1.intoArray(y, t + L);
            c2.intoArray(y, t + 2 * L);
            c3.intoArray(y, t + 3 * L);
            c4.intoArray(y, t + 4 * L);
            c5.intoArray(y, t + 5 * L);
            c6.intoArray(y, t + 6 * L);
            c7.intoArray(y, t + 7 * L);
        }
    }
}
