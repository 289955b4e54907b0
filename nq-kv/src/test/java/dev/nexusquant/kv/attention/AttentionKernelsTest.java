package dev.nexusquant.kv.attention;

import dev.nexusquant.vector.Vectorization;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The vector twin against the scalar one on random inputs of many sizes (seeded; the seed is in the message; replay
 * with -Dnq.test.seed=S). dot, axpy and expShifted are the engine's kernels, tested there.
 */
class AttentionKernelsTest {

    static final long SEED = Long.getLong("nq.test.seed", System.nanoTime());
    static final AttentionKernels SCALAR = AttentionKernels.scalar();
    static final AttentionKernels VECTOR = VectorAttentionKernels.INSTANCE;

    @Test
    void preferredIsWhatTheSwitchChose() {
        assertSame(Vectorization.enabled() ? VECTOR : SCALAR, AttentionKernels.preferred(), Vectorization.describe());
    }

    @Test
    void reductionsMatchScalar() {
        Random rnd = new Random(SEED);
        for (int n = 0; n <= 300; n++) {
            float[] s1 = random(rnd, n + 2), s2 = s1.clone();
            SCALAR.scale(s1, 2, n, 0.37f);
            VECTOR.scale(s2, 2, n, 0.37f);
            for (int i = 0; i < s1.length; i++) assertEquals(s1[i], s2[i], 1e-6f, "scale n=" + n + " seed=" + SEED);

            float[] e = random(rnd, n + 1);
            if (n > 0) e[1 + rnd.nextInt(n)] = Float.NEGATIVE_INFINITY;
            assertEquals(SCALAR.max(e, 1, n), VECTOR.max(e, 1, n), "max n=" + n + " seed=" + SEED);
        }
    }

    @Test
    void doubleDotsAreTheScalarChainsBitForBit() {
        Random rnd = new Random(SEED);
        for (int d : new int[]{1, 3, 16, 64, 128}) {
            for (int m : new int[]{1, 5, 8, 9, 31, 32, 33, 65, 72}) {
                double[] qT = new double[d * m];
                for (int i = 0; i < qT.length; i++) qT[i] = (float) (rnd.nextGaussian() * Math.exp(3 * rnd.nextGaussian()));
                float[] k = random(rnd, d + 3);
                double[] a = new double[m], b = new double[m];
                SCALAR.dotsInDouble(qT, m, d, k, 3, a);
                VECTOR.dotsInDouble(qT, m, d, k, 3, b);
                for (int j = 0; j < m; j++) {
                    double t = 0; // the definition: column j against the row, in index order
                    for (int i = 0; i < d; i++) t += qT[i * m + j] * (double) k[3 + i];
                    String at = "d=" + d + " m=" + m + " j=" + j + " seed=" + SEED;
                    assertEquals(Double.doubleToLongBits(t), Double.doubleToLongBits(a[j]), "scalar " + at);
                    assertEquals(Double.doubleToLongBits(t), Double.doubleToLongBits(b[j]), "vector " + at);
                }
            }
        }
    }

    @Test
    void blockScoresAndAccumulationMatchScalar() {
        Random rnd = new Random(SEED);
        for (int d : new int[]{8, 16, 24, 32, 64, 96, 128, 160, 256}) {
            for (int m : new int[]{1, 2, 4, 7, 32}) {
                int cnt = 1 + rnd.nextInt(64), stride = 64;
                float[] q = random(rnd, m * d + 3), k = random(rnd, cnt * d), bias = random(rnd, m);
                float[] s1 = new float[m * stride], s2 = new float[m * stride];
                SCALAR.scores(q, 3, m, d, k, cnt, bias, 0.125f, s1, stride);
                VECTOR.scores(q, 3, m, d, k, cnt, bias, 0.125f, s2, stride);
                for (int i = 0; i < s1.length; i++) {
                    assertEquals(s1[i], s2[i], 1e-4f, "scores d=" + d + " m=" + m + " seed=" + SEED);
                }
                float[] p = random(rnd, m * stride);
                p[0] = 0f;
                float[] a1 = random(rnd, m * d), a2 = a1.clone();
                SCALAR.accumulate(p, stride, m, cnt, k, d, a1);
                VECTOR.accumulate(p, stride, m, cnt, k, d, a2);
                for (int i = 0; i < a1.length; i++) {
                    assertEquals(a1[i], a2[i], 1e-3f, "accumulate d=" + d + " m=" + m + " seed=" + SEED);
                }
            }
        }
    }

    /**
     * The vector scores bit for bit against a plain-loop model of the same arithmetic (lane i: q[i]*k[i], then one
     * FMA per further vector of the row; lanes summed as the fixed tree i + L/2, halving), for the head dimensions the
     * vector path takes, including the 8-vector one with its own loop. The tree is written out (not reduceLanes, whose
     * order differs between C2 and the Java fallback), so the bits are the same in every JIT tier.
     */
    @Test
    void vectorScoresAreTheFixedTreeBitForBit() {
        Random rnd = new Random(SEED);
        int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int nv = 1; nv <= 8; nv++) {
            int d = nv * L;
            for (int rep = 0; rep < 40; rep++) {
                int m = 1 + rnd.nextInt(32), cnt = 1 + rnd.nextInt(64), stride = 64;
                float[] q = random(rnd, m * d + 5), k = random(rnd, cnt * d), bias = rnd.nextBoolean() ? random(rnd, m) : null;
                float[] s = new float[m * stride];
                VECTOR.scores(q, 5, m, d, k, cnt, bias, 0.088f, s, stride);
                for (int j = 0; j < m; j++) {
                    for (int r = 0; r < cnt; r++) {
                        float[] lanes = new float[L];
                        for (int i = 0; i < L; i++) {
                            float a = q[5 + j * d + i] * k[r * d + i];
                            for (int c = 1; c < nv; c++) a = Math.fma(q[5 + j * d + c * L + i], k[r * d + c * L + i], a);
                            lanes[i] = a;
                        }
                        for (int h = L / 2; h >= 1; h /= 2) for (int i = 0; i < h; i++) lanes[i] = lanes[i] + lanes[i + h];
                        float want = (lanes[0] + (bias == null ? 0f : bias[j])) * 0.088f;
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(s[j * stride + r]),
                                "scores d=" + d + " m=" + m + " j=" + j + " r=" + r + " seed=" + SEED);
                    }
                }
            }
        }
    }

    /** The vector accumulation bit for bit against per-lane FMA chains over the rows in order (zero weights skipped). */
    @Test
    void vectorAccumulationIsPerLaneFmaChainsBitForBit() {
        Random rnd = new Random(SEED + 1);
        int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int nv = 1; nv <= 8; nv++) {
            int d = nv * L;
            for (int rep = 0; rep < 40; rep++) {
                int m = 1 + rnd.nextInt(32), cnt = 1 + rnd.nextInt(64), stride = 64;
                float[] p = random(rnd, m * stride), v = random(rnd, cnt * d), acc = random(rnd, m * d);
                for (int i = 0; i < p.length; i += 3) p[i] = 0f;
                float[] want = acc.clone();
                VECTOR.accumulate(p, stride, m, cnt, v, d, acc);
                for (int j = 0; j < m; j++) {
                    for (int r = 0; r < cnt; r++) {
                        float w = p[j * stride + r];
                        if (w == 0f) continue;
                        for (int i = 0; i < d; i++) want[j * d + i] = Math.fma(v[r * d + i], w, want[j * d + i]);
                    }
                }
                for (int i = 0; i < want.length; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(acc[i]),
                            "accumulate d=" + d + " m=" + m + " i=" + i + " seed=" + SEED);
                }
            }
        }
    }

    private static float[] random(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
