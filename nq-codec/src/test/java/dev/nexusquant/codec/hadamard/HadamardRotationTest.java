package dev.nexusquant.codec.hadamard;

import dev.nexusquant.vector.Vectorization;
import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HadamardRotationTest {

    private static final int[] DIMS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 3, 6, 12, 24, 72, 80, 96, 100, 192, 320};

    /** Sylvester H_n[i][j] = (-1)^popcount(i & j). */
    private static double hadamard(int i, int j) {
        return (Integer.bitCount(i & j) & 1) == 0 ? 1.0 : -1.0;
    }

    /** The rotation as a dense matrix, from its definition: block-diagonal H/sqrt(n) times the sign diagonal. */
    private static double[][] denseMatrix(HadamardRotation r) {
        int d = r.dim();
        double[][] m = new double[d][d];
        int at = 0;
        for (int size : r.blockSizes()) {
            for (int i = 0; i < size; i++) {
                for (int j = 0; j < size; j++) {
                    m[at + i][at + j] = hadamard(i, j) / Math.sqrt(size) * r.sign(at + j);
                }
            }
            at += size;
        }
        return m;
    }

    @Test
    void blocksAreTheSetBitsLargestFirst() {
        assertArrayEquals(new int[]{64, 32}, HadamardRotation.blockSizesOf(96));
        assertArrayEquals(new int[]{64, 16}, HadamardRotation.blockSizesOf(80));
        assertArrayEquals(new int[]{128}, HadamardRotation.blockSizesOf(128));
        assertArrayEquals(new int[]{4, 2, 1}, HadamardRotation.blockSizesOf(7));
    }

    @Test
    void forwardEqualsTheDenseMatrixAndIsOrthonormal() {
        long seed = TestSeeds.seed("forwardEqualsTheDenseMatrixAndIsOrthonormal");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int d : DIMS) {
            HadamardRotation r = new HadamardRotation(d, rnd.nextLong());
            double[][] m = denseMatrix(r);
            // columns of the implemented map, from unit vectors
            double[][] cols = new double[d][];
            for (int j = 0; j < d; j++) {
                float[] e = new float[d + 3];
                e[1 + j] = 1f;
                r.forward(e, 1);
                cols[j] = new double[d];
                for (int i = 0; i < d; i++) {
                    cols[j][i] = e[1 + i];
                    assertEquals(m[i][j], e[1 + i], 1e-6, "d=" + d + " seed=" + seed + " entry " + i + "," + j);
                }
                assertEquals(0f, e[0], "element before the range touched");
                assertEquals(0f, e[d + 1], "element after the range touched");
            }
            // R^T R = I
            for (int a = 0; a < d; a++) {
                for (int b = 0; b < d; b++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) {
                        dot += cols[a][i] * cols[b][i];
                    }
                    assertEquals(a == b ? 1.0 : 0.0, dot, 1e-5, "d=" + d + " seed=" + seed + " (R^T R)[" + a + "][" + b + "]");
                }
            }
        }
    }

    @Test
    void inverseUndoesForwardAndDotProductsArePreserved() {
        long seed = TestSeeds.seed("inverseUndoesForwardAndDotProductsArePreserved");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int d : DIMS) {
            HadamardRotation r = new HadamardRotation(d, rnd.nextLong());
            for (int trial = 0; trial < 50; trial++) {
                float[] x = gaussian(rnd, d, trial % 5 == 0 ? 100f : 1f);
                float[] y = gaussian(rnd, d, 1f);
                float[] rx = x.clone();
                float[] ry = y.clone();
                r.forward(rx, 0);
                r.forward(ry, 0);
                double scale = Math.sqrt(dot(x, x) + dot(y, y)) + 1e-30;
                assertEquals(dot(x, y), dot(rx, ry), 1e-5 * scale * scale, "dot d=" + d + " seed=" + seed);
                assertEquals(Math.sqrt(dot(x, x)), Math.sqrt(dot(rx, rx)), 1e-5 * scale, "norm d=" + d);
                r.inverse(rx, 0);
                float maxAbs = 0;
                for (float v : x) maxAbs = Math.max(maxAbs, Math.abs(v));
                // float rounding only: log2(d) butterfly levels, a few ulps of the largest element each
                float tol = 8 * Math.ulp(maxAbs) * (1 + 32 - Integer.numberOfLeadingZeros(d));
                for (int i = 0; i < d; i++) {
                    assertEquals(x[i], rx[i], tol, "round trip d=" + d + " i=" + i + " seed=" + seed);
                }
            }
        }
    }

    @Test
    void vectorKernelMatchesScalarBitForBit() {
        assumeTrue(Vectorization.enabled(), "Vector API not available");
        long seed = TestSeeds.seed("vectorKernelMatchesScalarBitForBit");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 3; round++) {
            for (int d = 1; d <= 300; d++) {
                long s = rnd.nextLong();
                HadamardRotation sc = HadamardRotation.scalar(d, s);
                HadamardRotation ve = HadamardRotation.vectorized(d, s);
                int off = rnd.nextInt(5);
                float[] x = new float[d + off + 2];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] a = x.clone();
                float[] b = x.clone();
                sc.forward(a, off);
                ve.forward(b, off);
                assertArrayEquals(a, b, "forward d=" + d + " off=" + off + " seed=" + seed);
                sc.inverse(a, off);
                ve.inverse(b, off);
                assertArrayEquals(a, b, "inverse d=" + d + " off=" + off + " seed=" + seed);
            }
        }
    }

    @Test
    void signsAreAFixedFunctionOfTheSeed() {
        // the stored format depends on this sequence: pin a few values
        HadamardRotation r = new HadamardRotation(128, 42L);
        int[] s = new int[128];
        for (int i = 0; i < 128; i++) s[i] = r.sign(i);
        SplitMix64 g = new SplitMix64(42L);
        long w0 = g.nextLong();
        long w1 = g.nextLong();
        for (int i = 0; i < 128; i++) {
            long w = i < 64 ? w0 : w1;
            assertEquals(((w >>> (i & 63)) & 1) != 0 ? -1 : 1, s[i]);
        }
        // SplitMix64's published first output for seed 0 (the reference implementation of the paper)
        assertEquals(0xE220A8397B1DCDAFL, new SplitMix64(0L).nextLong());
        int negatives = 0;
        for (int v : s) negatives += v < 0 ? 1 : 0;
        assertTrue(negatives > 40 && negatives < 88, "signs look random: " + negatives + " of 128 negative");
    }

    /**
     * 20,000 calls allocate less than 1 KiB, so nothing per call (one float[96] per call would be 8 MB). Until C2 has
     * compiled the vector kernel its vectors are boxed on the heap, and on a loaded machine the compile queue can take
     * long: the measurement is repeated after more warm-up, up to 20 times, and the least of the attempts counts.
     */
    @Test
    void forwardAndInverseAllocateNothingPerCall() {
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(bean.isThreadAllocatedMemorySupported());
        for (HadamardRotation r : new HadamardRotation[]{HadamardRotation.scalar(128, 1), new HadamardRotation(96, 1)}) {
            float[] x = new float[r.dim()];
            Arrays.fill(x, 1f);
            long tid = Thread.currentThread().threadId();
            long least = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 20 && least >= 1024; attempt++) {
                for (int i = 0; i < 100_000; i++) { // warm up: let the JIT compile the vector kernel
                    r.forward(x, 0);
                    r.inverse(x, 0);
                }
                long before = bean.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 10_000; i++) {
                    r.forward(x, 0);
                    r.inverse(x, 0);
                }
                least = Math.min(least, bean.getThreadAllocatedBytes(tid) - before);
            }
            assertTrue(least < 1024, r + " allocated at least " + least + " bytes in 20000 calls (least of 20 attempts)");
        }
    }

    static float[] gaussian(SplittableRandom rnd, int n, float sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (sigma * rnd.nextGaussian());
        return x;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }
}
