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
