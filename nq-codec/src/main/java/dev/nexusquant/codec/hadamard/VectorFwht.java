package dev.nexusquant.codec.hadamard;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Walsh-Hadamard butterflies with the Panama Vector API: 8 float lanes (256 bits) for every block size, and
 * registers of 16 lanes for blocks of 64 and 128 (the usual head sizes) on a CPU with 512-bit vectors.
 *
 * <p>The passes of stride {@code h = 1, 2, 4} happen inside one register: lane i needs lane {@code i ^ h}, so
 * {@code y = x.rearrange(i -> i ^ h) + x * s_h} with {@code s_h[i] = +1} where bit h of i is clear and -1 where it is
 * set; the three are done with one load and one store per 8 elements. The passes of stride {@code h >= 8} are plain
 * vector butterflies between {@code x[j..j+8)} and {@code x[j+h..j+h+8)}, two strides (h and 2h) per load and store
 * of four vectors where they fit, the last one alone when the count is odd. Blocks shorter than 8 use the scalar loops.
 * With 16 lanes, blocks of 64 and 128 take one pass over memory for the strides 1 to 8 inside a register, then the
 * strides 16 to 64 between four or eight registers held from load to store.
 *
 * <p>Every lane computes exactly the scalar kernel's {@code a + b} or {@code a - b}, pass after pass in the same
 * order, so results are bit-identical to it.
 */
final class VectorFwht implements Fwht {

    static final VectorFwht INSTANCE = new VectorFwht();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = 8;
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(S, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(S, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(S, i -> i ^ 4);
    private static final FloatVector SIGN1 = FloatVector.fromArray(S, new float[]{1, -1, 1, -1, 1, -1, 1, -1}, 0);
    private static final FloatVector SIGN2 = FloatVector.fromArray(S, new float[]{1, 1, -1, -1, 1, 1, -1, -1}, 0);
    private static final FloatVector SIGN4 = FloatVector.fromArray(S, new float[]{1, 1, 1, 1, -1, -1, -1, -1}, 0);

    /** 16 lanes for blocks of 64 and 128, where the CPU has 512-bit vectors. */
    private static final VectorSpecies<Float> W = FloatVector.SPECIES_512;
    private static final boolean WIDE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    private static final VectorShuffle<Float> WSWAP1 = VectorShuffle.fromOp(W, i -> i ^ 1);
    private static final VectorShuffle<Float> WSWAP2 = VectorShuffle.fromOp(W, i -> i ^ 2);
    private static final VectorShuffle<Float> WSWAP4 = VectorShuffle.fromOp(W, i -> i ^ 4);
    private static final VectorShuffle<Float> WSWAP8 = VectorShuffle.fromOp(W, i -> i ^ 8);
    private static final FloatVector WSIGN1 = FloatVector.fromArray(W, signs(1), 0);
    private static final FloatVector WSIGN2 = FloatVector.fromArray(W, signs(2), 0);
    private static final FloatVector WSIGN4 = FloatVector.fromArray(W, signs(4), 0);
    private static final FloatVector WSIGN8 = FloatVector.fromArray(W, signs(8), 0);

    /** [16] +1 where bit h of the lane is clear, -1 where it is set. */
    private static float[] signs(int h) {
        float[] s = new float[16];
        for (int i = 0; i < 16; i++) s[i] = (i & h) == 0 ? 1f : -1f;
        return s;
    }

    @Override
    public void transform(float[] x, int off, int n) {
        if (WIDE && n == 128) {
            wide128(x, off);
            return;
        }
        if (WIDE && n == 64) {
            wide64(x, off);
            return;
        }
        if (n < L) {
            ScalarFwht.INSTANCE.transform(x, off, n);
            return;
        }
        for (int j = off, end = off + n; j < end; j += L) {
            FloatVector v = FloatVector.fromArray(S, x, j);
            v = v.rearrange(SWAP1).add(v.mul(SIGN1));
            v = v.rearrange(SWAP2).add(v.mul(SIGN2));
            v = v.rearrange(SWAP4).add(v.mul(SIGN4));
            v.intoArray(x, j);
        }
        int h = L;
        for (; 4 * h <= n; h <<= 2) { // the passes of strides h and 2h together: one load and store for both
            for (int i = 0; i < n; i += 4 * h) {
                for (int j = off + i, end = off + i + h; j < end; j += L) {
                    FloatVector a = FloatVector.fromArray(S, x, j);
                    FloatVector b = FloatVector.fromArray(S, x, j + h);
                    FloatVector c = FloatVector.fromArray(S, x, j + 2 * h);
                    FloatVector d = FloatVector.fromArray(S, x, j + 3 * h);
                    FloatVector ab = a.add(b), aMinusB = a.sub(b), cd = c.add(d), cMinusD = c.sub(d);
                    ab.add(cd).intoArray(x, j);
                    aMinusB.add(cMinusD).intoArray(x, j + h);
                    ab.sub(cd).intoArray(x, j + 2 * h);
                    aMinusB.sub(cMinusD).intoArray(x, j + 3 * h);
                }
            }
        }
        if (h < n) { // a last pass of stride n / 2
            for (int j = off, end = off + h; j < end; j += L) {
                FloatVector a = FloatVector.fromArray(S, x, j);
                FloatVector b = FloatVector.fromArray(S, x, j + h);
                a.add(b).intoArray(x, j);
                a.sub(b).intoArray(x, j + h);
            }
        }
    }

    @Override
    public void multiply(float[] x, int off, float[] s, int n) {
        int i = 0;
        for (int end = S.loopBound(n); i < end; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(FloatVector.fromArray(S, s, i)).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s[i];
        }
    }

    /** The passes of stride 1, 2, 4 and 8 inside each register of 16 lanes of a block of n. */
    private static void within16(float[] x, int off, int n) {
        for (int j = off, end = off + n; j < end; j += 16) {
            FloatVector v = FloatVector.fromArray(W, x, j);
            v = v.rearrange(WSWAP1).add(v.mul(WSIGN1));
            v = v.rearrange(WSWAP2).add(v.mul(WSIGN2));
            v = v.rearrange(WSWAP4).add(v.mul(WSIGN4));
            v.rearrange(WSWAP8).add(v.mul(WSIGN8)).intoArray(x, j);
        }
    }

    /**
     * A block of 128: after the passes inside registers, eight registers and the passes of stride 16, 32 and 64
     * between them, one load and one store each (a helper that returned a vector would not be inlined here, and
     * its vectors would be boxed).
     */
    private static void wide128(float[] x, int off) {
        within16(x, off, 128);
        FloatVector v0 = FloatVector.fromArray(W, x, off);
        FloatVector v1 = FloatVector.fromArray(W, x, off + 16);
        FloatVector v2 = FloatVector.fromArray(W, x, off + 32);
        FloatVector v3 = FloatVector.fromArray(W, x, off + 48);
        FloatVector v4 = FloatVector.fromArray(W, x, off + 64);
        FloatVector v5 = FloatVector.fromArray(W, x, off + 80);
        FloatVector v6 = FloatVector.fromArray(W, x, off + 96);
        FloatVector v7 = FloatVector.fromArray(W, x, off + 112);
        FloatVector a, b;
        // stride 16
        a = v0.add(v1); b = v0.sub(v1); v0 = a; v1 = b;
        a = v2.add(v3); b = v2.sub(v3); v2 = a; v3 = b;
        a = v4.add(v5); b = v4.sub(v5); v4 = a; v5 = b;
        a = v6.add(v7); b = v6.sub(v7); v6 = a; v7 = b;
        // stride 32
        a = v0.add(v2); b = v0.sub(v2); v0 = a; v2 = b;
        a = v1.add(v3); b = v1.sub(v3); v1 = a; v3 = b;
        a = v4.add(v6); b = v4.sub(v6); v4 = a; v6 = b;
        a = v5.add(v7); b = v5.sub(v7); v5 = a; v7 = b;
        // stride 64
        v0.add(v4).intoArray(x, off);
        v1.add(v5).intoArray(x, off + 16);
        v2.add(v6).intoArray(x, off + 32);
        v3.add(v7).intoArray(x, off + 48);
        v0.sub(v4).intoArray(x, off + 64);
        v1.sub(v5).intoArray(x, off + 80);
        v2.sub(v6).intoArray(x, off + 96);
        v3.sub(v7).intoArray(x, off + 112);
    }

    /** A block of 64: four registers, the passes of stride 16 and 32 between them. */
    private static void wide64(float[] x, int off) {
        within16(x, off, 64);
        FloatVector v0 = FloatVector.fromArray(W, x, off);
        FloatVector v1 = FloatVector.fromArray(W, x, off + 16);
        FloatVector v2 = FloatVector.fromArray(W, x, off + 32);
        FloatVector v3 = FloatVector.fromArray(W, x, off + 48);
        FloatVector a, b;
        a = v0.add(v1); b = v0.sub(v1); v0 = a; v1 = b;
        a = v2.add(v3); b = v2.sub(v3); v2 = a; v3 = b;
        v0.add(v2).intoArray(x, off);
        v1.add(v3).intoArray(x, off + 16);
        v0.sub(v2).intoArray(x, off + 32);
        v1.sub(v3).intoArray(x, off + 48);
    }
}
