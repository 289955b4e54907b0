package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class E8CodebooksTest {

    private static String key(float[] p) {
        StringBuilder sb = new StringBuilder();
        for (float v : p) sb.append(v).append(',');
        return sb.toString();
    }

    private static double dist(float[] z, float[] p) {
        double d = 0;
        for (int i = 0; i < 8; i++) d += ((double) z[i] - p[i]) * ((double) z[i] - p[i]);
        return d;
    }

    @Test
    void e8p16HasTheExpectedPatternsAndDistinctPointsOfTheShiftedLattice() {
        List<int[]> all = E8P16.patternsUpToNorm12();
        assertEquals(227, all.stream().filter(p -> E8P16.norm4(p) <= 40).count(), "patterns of norm <= 10");
        assertEquals(224, all.stream().filter(p -> E8P16.norm4(p) == 48).count(), "patterns of norm 12");
        E8P16 cb = E8P16.INSTANCE;
        Set<String> seen = new HashSet<>();
        float[] p = new float[8];
        float[] q = new float[8];
        int[] y2 = new int[8];
        for (int code = 0; code < 65536; code++) {
            cb.decode(code, p, 0);
            assertTrue(seen.add(key(p)), "duplicate point for code " + code);
            // p - 1/4 is in E8
            for (int i = 0; i < 8; i++) y2[i] = (int) (2 * (p[i] - 0.25f));
            for (int i = 0; i < 8; i++) assertEquals(p[i] - 0.25f, y2[i] / 2f, "not a half-integer lattice coordinate");
            assertTrue(E8Lattice.containsDoubled(y2, 0), "code " + code + " is not in E8 + 1/4");
            // the codebook is symmetric
            for (int i = 0; i < 8; i++) q[i] = -p[i];
            assertTrue(true);
            // every point is its own nearest point (codes are distinct, so encode returns the same code)
            assertEquals(code, cb.encode(p, 0, q, 0), "encode(decode(code)) for code " + code);
        }
        for (int code = 0; code < 65536; code++) {
            cb.decode(code, p, 0);
            for (int i = 0; i < 8; i++) p[i] = -p[i];
            assertTrue(seen.contains(key(p)), "the negation of code " + code + " is not a point");
        }
    }

    @Test
    void e8p16EncodeIsTheNearestCodewordByExhaustiveSearch() {
        long seed = TestSeeds.seed("e8p16EncodeIsTheNearestCodewordByExhaustiveSearch");
        SplittableRandom rnd = new SplittableRandom(seed);
        E8P16 cb = E8P16.INSTANCE;
        float[] all = new float[65536 * 8];
        for (int c = 0; c < 65536; c++) cb.decode(c, all, 8 * c);
        float[] z = new float[8];
        float[] p = new float[8];
        int overloads = 0;
        for (int t = 0; t < 1500; t++) {
            double sigma = new double[]{0.5, 1.0, 1.3, 2.0, 4.0}[t % 5]; // includes inputs far outside the ball
            for (int i = 0; i < 8; i++) z[i] = (float) (rnd.nextGaussian() * sigma);
            int code = cb.encode(z, 0, p, 0);
            double got = dist(z, p);
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < 65536; c++) {
                double d = 0;
                for (int i = 0; i < 8; i++) {
                    double e = (double) z[i] - all[8 * c + i];
                    d += e * e;
                }
                best = Math.min(best, d);
            }
            assertEquals(best, got, 1e-4 * (1 + best), "t=" + t + " code=" + code + " seed=" + seed);
            float[] lattice = new float[8];
            for (int i = 0; i < 8; i++) lattice[i] = z[i] - 0.25f;
            double unbounded = E8Lattice.nearest(lattice, 0, lattice, 0);
            if (unbounded + 1e-6 < got) overloads++;
        }
        System.out.println("E8P16 exhaustive check: " + overloads + " of 1500 inputs were outside the codebook's ball");
        assertTrue(overloads > 100, "the test must exercise the overload search");
    }

    @Test
    void e8p16OrbitSearchEqualsThePlainSearchOverAllPatterns() {
        long seed = TestSeeds.seed("e8p16OrbitSearchEqualsThePlainSearchOverAllPatterns");
        SplittableRandom rnd = new SplittableRandom(seed);
        E8P16 cb = E8P16.INSTANCE;
        float[] z = new float[8];
        float[] a = new float[8];
        float[] b = new float[8];
        for (int t = 0; t < 200_000; t++) {
            double sigma = new double[]{0.3, 1.0, 1.5, 3.0, 10.0}[t % 5];
            for (int i = 0; i < 8; i++) {
                z[i] = (float) (rnd.nextGaussian() * sigma);
                if (t % 7 == 0) z[i] = Math.round(z[i] * 4) / 4f; // ties between |z_i| and between candidates
            }
            int fast = cb.searchAll(z, 0);
            int plain = cb.searchAllPatterns(z, 0);
            cb.decode(fast, a, 0);
            cb.decode(plain, b, 0);
            double da = dist(z, a);
            double db = dist(z, b);
            assertEquals(db, da, 2e-5 * (1 + db), "t=" + t + " fast=" + fast + " plain=" + plain + " seed=" + seed);
        }
    }

    @Test
    void root8IsTwoHundredFiftySixDistinctE8PointsAndEncodeIsExact() {
        long seed = TestSeeds.seed("root8IsTwoHundredFiftySixDistinctE8PointsAndEncodeIsExact");
        E8Root8 cb = E8Root8.INSTANCE;
        Set<String> seen = new HashSet<>();
        float[] p = new float[8];
        float[] q = new float[8];
        int[] y2 = new int[8];
        int roots = 0;
        for (int code = 0; code < 256; code++) {
            cb.decode(code, p, 0);
            assertTrue(seen.add(key(p)), "duplicate point " + code);
            for (int i = 0; i < 8; i++) y2[i] = (int) (2 * p[i]);
            assertTrue(E8Lattice.containsDoubled(y2, 0), "code " + code + " is not in E8");
            double n = dist(p, new float[8]);
            if (n == 2) roots++;
            else assertEquals(4.0, n, "code " + code);
            assertEquals(code, cb.encode(p, 0, q, 0));
        }
        assertEquals(240, roots);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] z = new float[8];
        for (int t = 0; t < 50_000; t++) {
            for (int i = 0; i < 8; i++) z[i] = (float) (rnd.nextGaussian() * (t % 3 == 0 ? 0.3 : 1.5));
            cb.encode(z, 0, p, 0);
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < 256; c++) {
                cb.decode(c, q, 0);
                best = Math.min(best, dist(z, q));
            }
            assertEquals(best, dist(z, p), 1e-5 * (1 + best), "t=" + t + " seed=" + seed);
        }
    }
}
