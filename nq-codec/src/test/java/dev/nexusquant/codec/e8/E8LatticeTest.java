package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class E8LatticeTest {

    /**
     * The nearest E8 point by brute force: every point of D8 and of D8 + ½ whose coordinates are within 1 of x's
     * (E8's covering radius is 1, so the nearest point is among them): 3^8 candidates per coset at most. Returns the
     * squared distance (in double).
     */
    static double bruteForceDistance(float[] x, int radius) {
        double best = Double.POSITIVE_INFINITY;
        for (int coset = 0; coset < 2; coset++) {
            double off = coset * 0.5;
            int[] lo = new int[8];
            int[] span = new int[8];
            int count = 1;
            for (int i = 0; i < 8; i++) {
                lo[i] = (int) Math.ceil(x[i] - radius - off);
                int hi = (int) Math.floor(x[i] + radius - off);
                span[i] = hi - lo[i] + 1;
                count *= span[i];
            }
            for (int idx = 0; idx < count; idx++) {
                int rest = idx;
                long sum = 0;
                double d = 0;
                for (int i = 0; i < 8; i++) {
                    int k = lo[i] + rest % span[i];
                    rest /= span[i];
                    sum += k;
                    double diff = x[i] - (k + off);
                    d += diff * diff;
                }
                if ((sum & 1) == 0 && d < best) best = d; // D8 (+½): sum of the integer parts even
            }
        }
        return best;
    }

    private static double distance(float[] x, float[] y) {
        double d = 0;
        for (int i = 0; i < 8; i++) d += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
        return d;
    }

    @Test
    void nearestIsOptimalAgainstBruteForce() {
        long seed = TestSeeds.seed("nearestIsOptimalAgainstBruteForce");
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[8];
        float[] y = new float[8];
        int[] y2 = new int[8];
        int n = 20_000;
        for (int t = 0; t < n; t++) {
            double scale = new double[]{0.3, 1, 3, 20}[t % 4];
            for (int i = 0; i < 8; i++) {
                x[i] = (float) (t % 5 == 0 ? rnd.nextInt(-4, 5) * 0.5 + rnd.nextGaussian() * 1e-3 // near ties
                        : rnd.nextGaussian() * scale);
            }
            float d = E8Lattice.nearest(x, 0, y, 0);
            float d2 = E8Lattice.nearestDoubled(x, 0, y2, 0);
            for (int i = 0; i < 8; i++) {
                assertEquals(2 * y[i], (float) y2[i], "doubled form, seed=" + seed);
            }
            assertTrue(E8Lattice.containsDoubled(y2, 0), "not an E8 point, seed=" + seed + " t=" + t);
            double exact = distance(x, y);
            assertEquals(exact, d, 1e-4 * (1 + exact), "returned distance, seed=" + seed);
            assertEquals(d, d2);
            double brute = bruteForceDistance(x, 1);
            assertTrue(exact <= brute + 1e-5 * (1 + brute), "not nearest: " + exact + " > " + brute + ", seed=" + seed + " t=" + t);
            assertTrue(exact <= 1.0 + 1e-5, "beyond the covering radius: " + exact);
        }
        // a smaller sample with a radius-2 box, which does not rely on the covering radius
        for (int t = 0; t < 200; t++) {
            for (int i = 0; i < 8; i++) x[i] = (float) (rnd.nextGaussian() * 2);
            E8Lattice.nearest(x, 0, y, 0);
            assertEquals(bruteForceDistance(x, 2), distance(x, y), 1e-5, "seed=" + seed);
        }
    }

    @Test
    void latticePointsAreTheirOwnNearestPointAndInPlaceWorks() {
        long seed = TestSeeds.seed("latticePointsAreTheirOwnNearestPointAndInPlaceWorks");
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[10];
        float[] y = new float[10];
        for (int t = 0; t < 5000; t++) {
            // a random E8 point: random D8 point, maybe plus ½
            int sum = 0;
            for (int i = 0; i < 8; i++) {
                int k = rnd.nextInt(-6, 7);
                x[1 + i] = k;
                sum += k;
            }
            if ((sum & 1) != 0) x[1] += 1;
            if (rnd.nextBoolean()) for (int i = 0; i < 8; i++) x[1 + i] += 0.5f;
            assertEquals(0f, E8Lattice.nearest(x, 1, y, 2));
            for (int i = 0; i < 8; i++) assertEquals(x[1 + i], y[2 + i]);
            // in place, with a small perturbation
            float[] z = x.clone();
            for (int i = 0; i < 8; i++) z[1 + i] += (float) (rnd.nextDouble() - 0.5) * 0.4f;
            E8Lattice.nearest(z, 1, z, 1);
            for (int i = 0; i < 8; i++) assertEquals(x[1 + i], z[1 + i], "seed=" + seed);
            assertEquals(x[0], z[0]);
            assertEquals(x[9], z[9]);
        }
    }

    @Test
    void containsChecksBothCosetsAndTheParity() {
        assertTrue(E8Lattice.containsDoubled(new int[]{0, 0, 0, 0, 0, 0, 0, 0}, 0));
        assertTrue(E8Lattice.containsDoubled(new int[]{2, 2, 0, 0, 0, 0, 0, 0}, 0));
        assertFalse(E8Lattice.containsDoubled(new int[]{2, 0, 0, 0, 0, 0, 0, 0}, 0));
        assertTrue(E8Lattice.containsDoubled(new int[]{1, 1, 1, 1, 1, 1, 1, 1}, 0));
        assertTrue(E8Lattice.containsDoubled(new int[]{-1, -1, 1, 1, 1, 1, 1, 1}, 0));
        assertFalse(E8Lattice.containsDoubled(new int[]{-1, 1, 1, 1, 1, 1, 1, 1}, 0));
        assertFalse(E8Lattice.containsDoubled(new int[]{1, 2, 1, 1, 1, 1, 1, 1}, 0));
    }
}
