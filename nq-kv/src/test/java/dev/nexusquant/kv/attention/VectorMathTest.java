package dev.nexusquant.kv.attention;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** The Panama kernels against their scalar twins on random inputs of many sizes (seeded; the seed is in the message). */
class VectorMathTest {

    @Test
    void panamaMatchesScalar() {
        assertNotNull(VectorMath.PANAMA, "the Vector API should be available in tests");
        long seed = 20261129L;
        Random rnd = new Random(seed);
        for (int n = 0; n <= 300; n++) {
            float[] a = random(rnd, n + 7);
            float[] b = random(rnd, n + 5);
            int ao = rnd.nextInt(8), bo = rnd.nextInt(6);
            ao = Math.min(ao, 7);
            bo = Math.min(bo, 5);
            float ds = VectorMath.SCALAR.dot(a, ao, b, bo, n);
            float dp = VectorMath.PANAMA.dot(a, ao, b, bo, n);
            assertEquals(ds, dp, 1e-4f * (1 + n), "dot n=" + n + " seed=" + seed);

            float[] y1 = random(rnd, n + 3), y2 = y1.clone();
            float alpha = rnd.nextFloat() * 2 - 1;
            VectorMath.SCALAR.axpy(alpha, a, ao, y1, 3, n);
            VectorMath.PANAMA.axpy(alpha, a, ao, y2, 3, n);
            for (int i = 0; i < y1.length; i++) assertEquals(y1[i], y2[i], 1e-5f, "axpy n=" + n + " seed=" + seed);

            float[] s1 = random(rnd, n + 2), s2 = s1.clone();
            VectorMath.SCALAR.scale(s1, 2, n, 0.37f);
            VectorMath.PANAMA.scale(s2, 2, n, 0.37f);
            for (int i = 0; i < s1.length; i++) assertEquals(s1[i], s2[i], 1e-6f, "scale n=" + n + " seed=" + seed);

            float[] e1 = random(rnd, n + 1);
            if (n > 0) e1[1 + rnd.nextInt(n)] = Float.NEGATIVE_INFINITY;
            float[] e2 = e1.clone();
            float m1 = VectorMath.SCALAR.max(e1, 1, n), m2 = VectorMath.PANAMA.max(e2, 1, n);
            assertEquals(m1, m2, "max n=" + n + " seed=" + seed);
            if (n > 0) {
                float t1 = VectorMath.SCALAR.expInPlace(e1, 1, n, m1);
                float t2 = VectorMath.PANAMA.expInPlace(e2, 1, n, m2);
                assertEquals(t1, t2, 1e-5f * (1 + n), "exp sum n=" + n + " seed=" + seed);
                for (int i = 0; i < e1.length; i++) assertEquals(e1[i], e2[i], 1e-6f, "exp n=" + n + " seed=" + seed);
            }
        }
    }

    @Test
    void blockScoresAndAccumulationMatchScalar() {
        long seed = 424242L;
        Random rnd = new Random(seed);
        for (int d : new int[]{8, 16, 24, 32, 64, 96, 128, 160, 256}) {
            for (int m : new int[]{1, 2, 4, 7, 32}) {
                int cnt = 1 + rnd.nextInt(64), stride = 64;
                float[] q = random(rnd, m * d + 3), k = random(rnd, cnt * d), bias = random(rnd, m);
                float[] s1 = new float[m * stride], s2 = new float[m * stride];
                VectorMath.SCALAR.scores(q, 3, m, d, k, cnt, bias, 0.125f, s1, stride);
                VectorMath.PANAMA.scores(q, 3, m, d, k, cnt, bias, 0.125f, s2, stride);
                for (int i = 0; i < s1.length; i++) assertEquals(s1[i], s2[i], 1e-4f, "scores d=" + d + " m=" + m + " seed=" + seed);
                float[] p = random(rnd, m * stride);
                p[0] = 0f;
                float[] a1 = random(rnd, m * d), a2 = a1.clone();
                VectorMath.SCALAR.accumulate(p, stride, m, cnt, k, d, a1);
                VectorMath.PANAMA.accumulate(p, stride, m, cnt, k, d, a2);
                for (int i = 0; i < a1.length; i++) assertEquals(a1[i], a2[i], 1e-3f, "accumulate d=" + d + " m=" + m + " seed=" + seed);
            }
        }
    }

    private static float[] random(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
