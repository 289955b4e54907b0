package dev.nexusquant.kv;

import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** RoPE from the angle-addition tables agrees with the exact rotation to float rounding, at any position. */
class RopeAnglesTest {

    static void assertClose(float[] want, float[] got, String what) {
        double norm = 0;
        for (float v : want) norm = Math.max(norm, Math.abs(v));
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 4e-7 * Math.max(1, norm), what + " value " + i);
    }

    @Test
    void matchesTheExactRotationForwardAndBackAtAnyPosition() {
        SplittableRandom rnd = new SplittableRandom(5);
        RopeParams[] configs = {RopeParams.llama(10000, 128), RopeParams.neox(500000, 64),
                new RopeParams(RopeParams.Convention.HALVES, 10000, 4.0, 32)};
        int[] dims = {128, 64, 64};
        for (int c = 0; c < configs.length; c++) {
            int dim = dims[c];
            Rope exact = new Rope(configs[c], dim);
            RopeAngles fast = RopeAngles.of(configs[c], dim);
            assertSame(fast, RopeAngles.of(configs[c], dim), "one table per configuration");
            for (int trial = 0; trial < 300; trial++) {
                int pos = switch (trial % 4) {
                    case 0 -> rnd.nextInt(RopeAngles.FINE * 3);
                    case 1 -> RopeAngles.FINE * rnd.nextInt(1, 5000) - rnd.nextInt(2); // block boundaries
                    case 2 -> rnd.nextInt(1 << 20);
                    default -> rnd.nextInt(40_000);
                };
                float[] x = new float[dim];
                for (int i = 0; i < dim; i++) x[i] = (float) (rnd.nextGaussian() * 3);
                float[] a = x.clone(), b = x.clone();
                exact.forward(a, 0, pos);
                fast.forward(b, 0, pos);
                assertClose(a, b, "forward at " + pos);
                exact.inverse(a, 0, pos);
                fast.inverse(b, 0, pos);
                assertClose(a, b, "inverse at " + pos);
                assertClose(x, b, "back at " + pos);
            }
        }
    }

    /**
     * The vector twin of the row rotation gives the scalar twin's bits: both conventions, every pair count from 1 to
     * 72 (whole vectors of pairs and left-over pairs), rows at offsets inside a longer array with elements past the
     * rotary part, both directions, seeded random angle tables and rows (including zeros and large values).
     */
    @Test
    void vectorTwinGivesTheScalarTwinsBits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.nexusquant.vector.Vectorization.enabled(), "Vector API not available");
        RopeKernels vector = RopeKernels.preferred();
        assertEquals("vector", vector.name());
        SplittableRandom rnd = new SplittableRandom(17);
        for (int trial = 0; trial < 600; trial++) {
            RopeParams.Convention conv = RopeParams.Convention.values()[trial % 2];
            int half = 1 + (trial / 2) % 72;
            int rows = 2 * half + rnd.nextInt(9), off = rnd.nextInt(5), fo = rnd.nextInt(3) * half;
            double[] coarse = new double[2 * half];
            double[] fineCos = new double[fo + half], fineSin = new double[fo + half];
            for (int i = 0; i < 2 * half; i++) coarse[i] = rnd.nextDouble(-1, 1);
            for (int i = 0; i < fineCos.length; i++) {
                double a = rnd.nextDouble(-Math.PI, Math.PI);
                fineCos[i] = Math.cos(a);
                fineSin[i] = Math.sin(a);
            }
            float[] x = new float[off + rows + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = switch (rnd.nextInt(6)) {
                    case 0 -> 0f;
                    case 1 -> (float) (rnd.nextGaussian() * 1e6);
                    default -> (float) rnd.nextGaussian();
                };
            }
            double direction = rnd.nextBoolean() ? 1.0 : -1.0;
            float[] s = x.clone(), v = x.clone();
            RopeKernels.SCALAR.rotate(conv, half, s, off, coarse, fineCos, fineSin, fo, direction);
            vector.rotate(conv, half, v, off, coarse, fineCos, fineSin, fo, direction);
            org.junit.jupiter.api.Assertions.assertArrayEquals(s, v, "trial " + trial + " " + conv + " pairs " + half);
        }
    }

    @Test
    void threadsGrowingTheTableSeeTheSameRotations() throws Exception {
        RopeParams p = new RopeParams(RopeParams.Convention.ADJACENT, 20000, 1.0, 48);
        Rope exact = new Rope(p, 64);
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            var futures = new java.util.ArrayList<java.util.concurrent.Future<?>>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                futures.add(pool.submit(() -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    for (int pos = seed; pos < 300_000; pos += 997 + rnd.nextInt(500)) {
                        float[] x = new float[64];
                        for (int i = 0; i < 64; i++) x[i] = (float) rnd.nextGaussian();
                        float[] a = x.clone(), b = x.clone();
                        exact.forward(a, 0, pos);
                        RopeAngles.of(p, 64).forward(b, 0, pos);
                        assertClose(a, b, "thread " + seed + " at " + pos);
                    }
                }));
            }
            for (var f : futures) f.get();
        } finally {
            pool.shutdown();
        }
    }
}
