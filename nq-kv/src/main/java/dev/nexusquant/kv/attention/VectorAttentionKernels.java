package dev.nexusquant.kv.attention;

import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.vector.LaneSum;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API twin of {@link ScalarAttentionKernels}: full lanes of the preferred species, then a scalar tail. Loaded
 * only when {@link dev.nexusquant.vector.Vectorization} chose the vector kernels. Lane sums go through {@link LaneSum}
 * (one fixed order), so a score has the same bits in the interpreter, C1 and C2; {@code max} is exact in any order.
 */
final class VectorAttentionKernels implements AttentionKernels {

    static final VectorAttentionKernels INSTANCE = new VectorAttentionKernels();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorAttentionKernels() {
    }

    @Override
    public Kernels base() {
        return Kernels.vector();
    }

    @Override
    public void scale(float[] y, int off, int n, float s) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += S.length()) {
            FloatVector.fromArray(S, y, off + i).mul(s).intoArray(y, off + i);
        }
        for (; i < n; i++) y[off + i] *= s;
    }

    @Override
    public float max(float[] s, int off, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (bound > 0) {
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < bound; i += S.length()) mv = mv.max(FloatVector.fromArray(S, s, off + i));
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, s[off + i]);
        return m;
    }

    /** Row-outer: each key row is loaded once and dotted with every query (the m dot products share its loads). */
    @Override
    public void scores(float[] q, int qOff, int m, int d, float[] k, int cnt, float[] bias, float scale,
                       float[] s, int stride) {
        int L = S.length();
        if (d % L != 0 || d / L > 8) {
            AttentionKernels.super.scores(q, qOff, m, d, k, cnt, bias, scale, s, stride);
            return;
        }
        int nv = d / L;
        for (int r = 0; r < cnt; r++) {
            int ko = r * d;
            FloatVector k0 = FloatVector.fromArray(S, k, ko);
            FloatVector k1 = nv > 1 ? FloatVector.fromArray(S, k, ko + L) : null;
            FloatVector k2 = nv > 2 ? FloatVector.fromArray(S, k, ko + 2 * L) : null;
            FloatVector k3 = nv > 3 ? FloatVector.fromArray(S, k, ko + 3 * L) : null;
            for (int j = 0; j < m; j++) {
                int qo = qOff + j * d;
                FloatVector acc = FloatVector.fromArray(S, q, qo).mul(k0);
                if (k1 != null) acc = FloatVector.fromArray(S, q, qo + L).fma(k1, acc);
                if (k2 != null) acc = FloatVector.fromArray(S, q, qo + 2 * L).fma(k2, acc);
                if (k3 != null) acc = FloatVector.fromArray(S, q, qo + 3 * L).fma(k3, acc);
                for (int c = 4; c < nv; c++) {
                    acc = FloatVector.fromArray(S, q, qo + c * L).fma(FloatVector.fromArray(S, k, ko + c * L), acc);
                }
                float b = bias == null ? 0f : bias[j];
                s[j * stride + r] = (LaneSum.sum(acc) + b) * scale;
            }
        }
    }

    /** Query-outer: query j's accumulator stays in registers while the value rows stream through. */
    @Override
    public void accumulate(float[] p, int stride, int m, int cnt, float[] v, int d, float[] acc) {
        int L = S.length();
        if (d % L != 0 || d / L > 8) {
            AttentionKernels.super.accumulate(p, stride, m, cnt, v, d, acc);
            return;
        }
        int nv = d / L;
        for (int j = 0; j < m; j++) {
            int ao = j * d;
            FloatVector a0 = FloatVector.fromArray(S, acc, ao);
            FloatVector a1 = nv > 1 ? FloatVector.fromArray(S, acc, ao + L) : null;
            FloatVector a2 = nv > 2 ? FloatVector.fromArray(S, acc, ao + 2 * L) : null;
            FloatVector a3 = nv > 3 ? FloatVector.fromArray(S, acc, ao + 3 * L) : null;
            FloatVector a4 = nv > 4 ? FloatVector.fromArray(S, acc, ao + 4 * L) : null;
            FloatVector a5 = nv > 5 ? FloatVector.fromArray(S, acc, ao + 5 * L) : null;
            FloatVector a6 = nv > 6 ? FloatVector.fromArray(S, acc, ao + 6 * L) : null;
            FloatVector a7 = nv > 7 ? FloatVector.fromArray(S, acc, ao + 7 * L) : null;
            for (int r = 0; r < cnt; r++) {
                float w = p[j * stride + r];
                if (w == 0f) continue;
                FloatVector wv = FloatVector.broadcast(S, w);
                int vo = r * d;
                a0 = FloatVector.fromArray(S, v, vo).fma(wv, a0);
                if (a1 != null) a1 = FloatVector.fromArray(S, v, vo + L).fma(wv, a1);
                if (a2 != null) a2 = FloatVector.fromArray(S, v, vo + 2 * L).fma(wv, a2);
                if (a3 != null) a3 = FloatVector.fromArray(S, v, vo + 3 * L).fma(wv, a3);
                if (a4 != null) a4 = FloatVector.fromArray(S, v, vo + 4 * L).fma(wv, a4);
                if (a5 != null) a5 = FloatVector.fromArray(S, v, vo + 5 * L).fma(wv, a5);
                if (a6 != null) a6 = FloatVector.fromArray(S, v, vo + 6 * L).fma(wv, a6);
                if (a7 != null) a7 = FloatVector.fromArray(S, v, vo + 7 * L).fma(wv, a7);
            }
            a0.intoArray(acc, ao);
            if (a1 != null) a1.intoArray(acc, ao + L);
            if (a2 != null) a2.intoArray(acc, ao + 2 * L);
            if (a3 != null) a3.intoArray(acc, ao + 3 * L);
            if (a4 != null) a4.intoArray(acc, ao + 4 * L);
            if (a5 != null) a5.intoArray(acc, ao + 5 * L);
            if (a6 != null) a6.intoArray(acc, ao + 6 * L);
            if (a7 != null) a7.intoArray(acc, ao + 7 * L);
        }
    }
}
