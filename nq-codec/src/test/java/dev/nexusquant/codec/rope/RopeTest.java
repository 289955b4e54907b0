package dev.nexusquant.codec.rope;

import dev.nexusquant.codec.TestSeeds;
import dev.nexusquant.codec.rope.RopeParams.Convention;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RopeTest {

    private static final long[] POSITIONS = {0, 1, 2, 17, 511, 2047, 4096, 32767, 131071, 999_999, 1_000_000,
            1_000_003, 1L << 24, (1L << 31) - 1};

    @Test
    void matchesTheDefinitionOnHandComputedCases() {
        // rotaryDims 2: one pair, angle = p / scale
        Rope r = new Rope(new RopeParams(Convention.ADJACENT, 10000, 1, 2), 2);
        float[] x = {1f, 0f};
        r.forward(x, 0, 1);
        assertEquals((float) Math.cos(1), x[0]);
        assertEquals((float) Math.sin(1), x[1]);
        // head 4, halves: pairs (0,2) with angle p, (1,3) with angle p * 100^-1 (base 100, -2*1/4 -> 100^-0.5 = 0.1)
        Rope h = new Rope(new RopeParams(Convention.HALVES, 100, 2, 4), 4);
        float[] y = {1f, 1f, 0f, 0f};
        h.forward(y, 0, 6); // position 6 / linear scale 2 = 3
        assertEquals((float) Math.cos(3), y[0], 1e-7);
        assertEquals((float) Math.sin(3), y[2], 1e-7);
        assertEquals((float) Math.cos(0.3), y[1], 1e-7);
        assertEquals((float) Math.sin(0.3), y[3], 1e-7);
        // position 0 is the identity
        float[] z = {3f, -1f, 2f, 5f};
        h.forward(z, 0, 0);
        assertEquals(3f, z[0]);
        assertEquals(5f, z[3]);
    }

    @Test
    void conventionsDifferOnlyByThePairing() {
        long seed = TestSeeds.seed("conventionsDifferOnlyByThePairing");
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = 64;
        Rope adj = new Rope(new RopeParams(Convention.ADJACENT, 10000, 1, d), d);
        Rope hal = new Rope(new RopeParams(Convention.HALVES, 10000, 1, d), d);
        for (int t = 0; t < 100; t++) {
            float[] a = gaussian(rnd, d);
            float[] b = new float[d]; // b[i] = a[2i], b[i + d/2] = a[2i+1]
            for (int i = 0; i < d / 2; i++) {
                b[i] = a[2 * i];
                b[i + d / 2] = a[2 * i + 1];
            }
            long p = rnd.nextLong(1, 100_000);
            adj.forward(a, 0, p);
            hal.forward(b, 0, p);
            for (int i = 0; i < d / 2; i++) {
                assertEquals(a[2 * i], b[i], "seed=" + seed);
                assertEquals(a[2 * i + 1], b[i + d / 2], "seed=" + seed);
            }
        }
    }

    @Test
    void inverseUndoesForwardToFloatRoundingAtLargePositions() {
        long seed = TestSeeds.seed("inverseUndoesForwardToFloatRoundingAtLargePositions");
        SplittableRandom rnd = new SplittableRandom(seed);
        double maxUlps = 0;
        for (Convention c : Convention.values()) {
            for (double base : new double[]{10000, 500000, 1_000_000}) {
                for (double scale : new double[]{1, 4, 8}) {
                    for (int[] dims : new int[][]{{64, 64}, {128, 128}, {128, 64}, {80, 32}, {8, 8}}) {
                        int headDim = dims[0];
                        Rope r = new Rope(new RopeParams(c, base, scale, dims[1]), headDim);
                        for (long p : POSITIONS) {
                            float[] k = gaussian(rnd, headDim + 2);
                            float[] x = k.clone();
                            r.forward(x, 1, p);
                            for (int i = dims[1]; i < headDim; i++) {
                                assertEquals(k[1 + i], x[1 + i], "element past rotaryDims changed");
                            }
                            r.inverse(x, 1, p);
                            assertEquals(k[0], x[0]);
                            assertEquals(k[headDim + 1], x[headDim + 1]);
                            for (int i = 0; i < dims[1] / 2; i++) {
                                int a = 1 + r.params().first(i);
                                int b = 1 + r.params().second(i);
                                double norm = Math.hypot(k[a], k[b]);
                                double ulp = Math.ulp((float) norm);
                                double err = Math.max(Math.abs(k[a] - x[a]), Math.abs(k[b] - x[b]));
                                maxUlps = Math.max(maxUlps, err / ulp);
                                assertEquals(0, err, 2 * ulp, c + " base=" + base + " scale=" + scale + " p=" + p
                                        + " pair " + i + " seed=" + seed);
                            }
                        }
                    }
                }
            }
        }
        System.out.println("RoPE round trip: largest error " + maxUlps + " ulps of the pair norm");
    }

    @Test
    void dotProductsDependOnlyOnTheRelativePosition() {
        long seed = TestSeeds.seed("dotProductsDependOnlyOnTheRelativePosition");
        SplittableRandom rnd = new SplittableRandom(seed);
        Rope r = new Rope(RopeParams.llama(10000, 64), 64);
        for (int t = 0; t < 200; t++) {
            float[] q = gaussian(rnd, 64);
            float[] k = gaussian(rnd, 64);
            long pq = rnd.nextLong(0, 1_000_000);
            long pk = rnd.nextLong(0, pq + 1);
            long shift = rnd.nextLong(0, 1_000_000);
            double d1 = rotatedDot(r, q, pq, k, pk);
            double d2 = rotatedDot(r, q, pq + shift, k, pk + shift);
            assertEquals(d1, d2, 1e-4 * 64, "seed=" + seed);
        }
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> new RopeParams(Convention.ADJACENT, 1, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> new RopeParams(Convention.ADJACENT, Double.NaN, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> new RopeParams(Convention.ADJACENT, 1e4, 0, 64));
        assertThrows(IllegalArgumentException.class, () -> new RopeParams(Convention.ADJACENT, 1e4, 1, 63));
        assertThrows(IllegalArgumentException.class, () -> new RopeParams(null, 1e4, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> new Rope(RopeParams.llama(1e4, 128), 64));
        assertThrows(IndexOutOfBoundsException.class, () -> new Rope(RopeParams.llama(1e4, 64), 64).forward(new float[63], 0, 1));
    }

    private static double rotatedDot(Rope r, float[] q, long pq, float[] k, long pk) {
        float[] a = q.clone();
        float[] b = k.clone();
        r.forward(a, 0, pq);
        r.forward(b, 0, pk);
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
