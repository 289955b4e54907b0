package dev.nexusquant.kv.attention;

import dev.nexusquant.engine.tensor.Kernels;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API twin of {@link ScalarAttentionKernels}: full lanes of the preferred species, then a scalar tail. Loaded
 * only when {@link dev.nexusquant.vector.Vectorization} chose the vector kernels.
 */
final class VectorAttentionKernels implements AttentionKernels {

    static final VectorAttentionKernels INSTANCE = new VectorAttentionKernels();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> SD = DoubleVector.SPECIES_PREFERRED;

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
        // the factor as a vector made once: a scalar operand goes through the Vector API's wrappers, which C2 has left
        // to their Java fallbacks in some processes (the packed Q4_K kernel's slow runs); the same bits
        FloatVector sv = FloatVector.broadcast(S, s);
        for (; i < bound; i += S.length()) {
            FloatVector.fromArray(S, y, off + i).mul(sv).intoArray(y, off + i);
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

    /**
     * Lanes are columns: each lane runs the scalar twin's chain for its column (the row's value {@code k[i]} broadcast,
     * one FMA per index, in order), four vectors of columns at a time in named accumulators, then one vector at a time,
     * then the remaining columns as in the scalar twin. The same bits as the scalar twin (every product is exact).
     */
    @Override
    public void dotsInDouble(double[] qT, int m, int d, float[] k, int kOff, double[] out) {
        int L = SD.length();
        int j = 0;
        for (; j + 4 * L <= m; j += 4 * L) {
            DoubleVector a0 = DoubleVector.zero(SD), a1 = DoubleVector.zero(SD);
            DoubleVector a2 = DoubleVector.zero(SD), a3 = DoubleVector.zero(SD);
            for (int i = 0; i < d; i++) {
                DoubleVector kv = DoubleVector.broadcast(SD, (double) k[kOff + i]);
                int o = i * m + j;
                a0 = DoubleVector.fromArray(SD, qT, o).fma(kv, a0);
                a1 = DoubleVector.fromArray(SD, qT, o + L).fma(kv, a1);
                a2 = DoubleVector.fromArray(SD, qT, o + 2 * L).fma(kv, a2);
                a3 = DoubleVector.fromArray(SD, qT, o + 3 * L).fma(kv, a3);
            }
            a0.intoArray(out, j);
            a1.intoArray(out, j + L);
            a2.intoArray(out, j + 2 * L);
            a3.intoArray(out, j + 3 * L);
        }
        for (; j + L <= m; j += L) {
            DoubleVector a0 = DoubleVector.zero(SD);
            for (int i = 0; i < d; i++) {
                a0 = DoubleVector.fromArray(SD, qT, i * m + j).fma(DoubleVector.broadcast(SD, (double) k[kOff + i]), a0);
            }
            a0.intoArray(out, j);
        }
        for (; j < m; j++) {
            double t = 0;
            for (int i = 0; i < d; i++) t += qT[i * m + j] * (double) k[kOff + i];
            out[j] = t;
        }
    }

    /**
     * Row-outer: each key row is loaded once and dotted with every query (the m dot products share its loads). Lane
     * {@code i} of a dot product is {@code q[i]*k[i]} then an FMA per further vector of the row, in order; the lanes are
     * summed by a fixed tree (the shuffles below), so the result does not depend on whether the JIT compiled this method.
     * The head dimension of the project's models (8 full vectors: 128 at 512 bits) has its own loop whose vectors are
     * plain locals, which C2 keeps in registers (a nullable or array-held vector is boxed and runs the Java fallback).
     */
    @Override
    public void scores(float[] q, int qOff, int m, int d, float[] k, int cnt, float[] bias, float scale,
                       float[] s, int stride) {
        int L = S.length();
        if (d % L != 0 || d / L > 8) {
            AttentionKernels.super.scores(q, qOff, m, d, k, cnt, bias, scale, s, stride);
            return;
        }
        if (d == 8 * L) {
            scores8(q, qOff, m, k, cnt, bias, scale, s, stride);
            return;
        }
        int nv = d / L;
        for (int r = 0; r < cnt; r++) {
            int ko = r * d;
            for (int j = 0; j < m; j++) {
                int qo = qOff + j * d;
                FloatVector acc = FloatVector.fromArray(S, q, qo).mul(FloatVector.fromArray(S, k, ko));
                for (int c = 1; c < nv; c++) {
                    acc = FloatVector.fromArray(S, q, qo + c * L).fma(FloatVector.fromArray(S, k, ko + c * L), acc);
                }
                // the lane sum written out: a helper taking the vector, left out of line when C2 inlines this loop
                // into a large caller (seen: "too big" inside CompressedAttention.attend), would box it
                if (L >= 2) acc = acc.add(acc.rearrange(HALF));
                if (L >= 4) acc = acc.add(acc.rearrange(QUARTER));
                if (L >= 8) acc = acc.add(acc.rearrange(EIGHTH));
                if (L >= 16) acc = acc.add(acc.rearrange(SIXTEENTH));
                float total = L >= 32 ? wideTail(acc) : acc.lane(0);
                float b = bias == null ? 0f : bias[j];
                s[j * stride + r] = (total + b) * scale;
            }
        }
    }

    /** {@link #scores} for rows of exactly 8 vectors: the row's vectors stay in registers across the m queries. */
    private static void scores8(float[] q, int qOff, int m, float[] k, int cnt, float[] bias, float scale,
                                float[] s, int stride) {
        int L = S.length(), d = 8 * L;
        for (int r = 0; r < cnt; r++) {
            int ko = r * d;
            FloatVector k0 = FloatVector.fromArray(S, k, ko);
            FloatVector k1 = FloatVector.fromArray(S, k, ko + L);
            FloatVector k2 = FloatVector.fromArray(S, k, ko + 2 * L);
            FloatVector k3 = FloatVector.fromArray(S, k, ko + 3 * L);
            FloatVector k4 = FloatVector.fromArray(S, k, ko + 4 * L);
            FloatVector k5 = FloatVector.fromArray(S, k, ko + 5 * L);
            FloatVector k6 = FloatVector.fromArray(S, k, ko + 6 * L);
            FloatVector k7 = FloatVector.fromArray(S, k, ko + 7 * L);
            for (int j = 0; j < m; j++) {
                int qo = qOff + j * d;
                FloatVector acc = FloatVector.fromArray(S, q, qo).mul(k0);
                acc = FloatVector.fromArray(S, q, qo + L).fma(k1, acc);
                acc = FloatVector.fromArray(S, q, qo + 2 * L).fma(k2, acc);
                acc = FloatVector.fromArray(S, q, qo + 3 * L).fma(k3, acc);
                acc = FloatVector.fromArray(S, q, qo + 4 * L).fma(k4, acc);
                acc = FloatVector.fromArray(S, q, qo + 5 * L).fma(k5, acc);
                acc = FloatVector.fromArray(S, q, qo + 6 * L).fma(k6, acc);
                acc = FloatVector.fromArray(S, q, qo + 7 * L).fma(k7, acc);
                // the lane sum written out: a helper taking the vector, left out of line when C2 inlines this loop
                // into a large caller (seen: "too big" inside CompressedAttention.attend), would box it
                if (L >= 2) acc = acc.add(acc.rearrange(HALF));
                if (L >= 4) acc = acc.add(acc.rearrange(QUARTER));
                if (L >= 8) acc = acc.add(acc.rearrange(EIGHTH));
                if (L >= 16) acc = acc.add(acc.rearrange(SIXTEENTH));
                float total = L >= 32 ? wideTail(acc) : acc.lane(0);
                float b = bias == null ? 0f : bias[j];
                s[j * stride + r] = (total + b) * scale;
            }
        }
    }

    // The lanes of a dot product are summed as one fixed tree: lane i plus lane i + L/2, then halving again, down to
    // lane 0 (for 16 lanes the order C2 gives reduceLanes(ADD); the Java fallback adds in lane order instead, which is
    // why it is written out). Each step is a shuffle and a lanewise add, exact in every JIT tier.
    private static final VectorShuffle<Float> HALF = VectorShuffle.fromOp(S, i -> i ^ (S.length() / 2));
    private static final VectorShuffle<Float> QUARTER = VectorShuffle.fromOp(S, i -> i ^ Math.max(1, S.length() / 4));
    private static final VectorShuffle<Float> EIGHTH = VectorShuffle.fromOp(S, i -> i ^ Math.max(1, S.length() / 8));
    private static final VectorShuffle<Float> SIXTEENTH = VectorShuffle.fromOp(S, i -> i ^ Math.max(1, S.length() / 16));

    /** After the tree, for a species wider than any x86/ARM register: lanes 0 .. L/16 - 1 added in order. */
    private static float wideTail(FloatVector v) {
        float t = 0f;
        for (int i = 0; i < S.length() / 16; i++) t += v.lane(i);
        return t;
    }

    /**
     * Query-outer: query j's accumulator stays in registers while the value rows stream through. Each lane is its own
     * chain of FMAs over the rows in order, so splitting the row into vectors changes no result.
     */
    @Override
    public void accumulate(float[] p, int stride, int m, int cnt, float[] v, int d, float[] acc) {
        int L = S.length();
        if (d % L != 0 || d / L > 8) {
            AttentionKernels.super.accumulate(p, stride, m, cnt, v, d, acc);
            return;
        }
        if (d == 8 * L) {
            accumulate8(p, stride, m, cnt, v, acc);
            return;
        }
        int nv = d / L;
        for (int j = 0; j < m; j++) {
            for (int c = 0; c < nv; c++) {
                int ao = j * d + c * L;
                FloatVector a = FloatVector.fromArray(S, acc, ao);
                for (int r = 0; r < cnt; r++) {
                    float w = p[j * stride + r];
                    if (w == 0f) continue;
                    a = FloatVector.fromArray(S, v, r * d + c * L).fma(FloatVector.broadcast(S, w), a);
                }
                a.intoArray(acc, ao);
            }
        }
    }

    /** {@link #accumulate} for rows of exactly 8 vectors, the accumulators in named locals. */
    private static void accumulate8(float[] p, int stride, int m, int cnt, float[] v, float[] acc) {
        int L = S.length(), d = 8 * L;
        for (int j = 0; j < m; j++) {
            int ao = j * d;
            FloatVector a0 = FloatVector.fromArray(S, acc, ao);
            FloatVector a1 = FloatVector.fromArray(S, acc, ao + L);
            FloatVector a2 = FloatVector.fromArray(S, acc, ao + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, acc, ao + 3 * L);
            FloatVector a4 = FloatVector.fromArray(S, acc, ao + 4 * L);
            FloatVector a5 = FloatVector.fromArray(S, acc, ao + 5 * L);
            FloatVector a6 = FloatVector.fromArray(S, acc, ao + 6 * L);
            FloatVector a7 = FloatVector.fromArray(S, acc, ao + 7 * L);
            for (int r = 0; r < cnt; r++) {
                float w = p[j * stride + r];
                if (w == 0f) continue;
                FloatVector wv = FloatVector.broadcast(S, w);
                int vo = r * d;
                a0 = FloatVector.fromArray(S, v, vo).fma(wv, a0);
                a1 = FloatVector.fromArray(S, v, vo + L).fma(wv, a1);
                a2 = FloatVector.fromArray(S, v, vo + 2 * L).fma(wv, a2);
                a3 = FloatVector.fromArray(S, v, vo + 3 * L).fma(wv, a3);
                a4 = FloatVector.fromArray(S, v, vo + 4 * L).fma(wv, a4);
                a5 = FloatVector.fromArray(S, v, vo + 5 * L).fma(wv, a5);
                a6 = FloatVector.fromArray(S, v, vo + 6 * L).fma(wv, a6);
                a7 = FloatVector.fromArray(S, v, vo + 7 * L).fma(wv, a7);
            }
            a0.intoArray(acc, ao);
            a1.intoArray(acc, ao + L);
            a2.intoArray(acc, ao + 2 * L);
            a3.intoArray(acc, ao + 3 * L);
            a4.intoArray(acc, ao + 4 * L);
            a5.intoArray(acc, ao + 5 * L);
            a6.intoArray(acc, ao + 6 * L);
            a7.intoArray(acc, ao + 7 * L);
        }
    }
}
