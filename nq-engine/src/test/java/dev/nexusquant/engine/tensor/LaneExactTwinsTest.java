package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels {@link WarmingKernels} may run on either twin compute the same bits on both: the vector kernels against
 * {@link ScalarKernels#matching} their lanes, on random data of many sizes (tails of every length, odd column counts,
 * fewer rows than a panel, offsets), compared with {@code floatToRawIntBits}. Each test prints its seed; replay a
 * failure with -Dnq.kernels.seed=S.
 */
class LaneExactTwinsTest {

    static final Kernels V = Kernels.vector();
    static final ScalarKernels S = ScalarKernels.matching(VectorKernels.L);
    static final long SEED = Long.getLong("nq.kernels.seed", System.nanoTime());

    static {
        System.out.println("LaneExactTwinsTest seed " + SEED + " (" + V.name() + " vs scalar of " + S.lanes() + " lanes)");
    }

    static float[] random(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static void assertBits(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + ": element " + i + ": vector " + expected[i] + ", scalar " + got[i]
                        + " (seed " + SEED + ")");
            }
        }
    }

    @Test
    void theScalarTwinMatchesTheVectorKernelsLanes() {
        assertTrue(V instanceof VectorKernels, "this CPU should have 256- or 512-bit vectors: " + V.name());
        assertEquals(VectorKernels.L, S.lanes());
        assertEquals(8, ScalarKernels.matching(8).lanes());
        assertThrows(IllegalArgumentException.class, () -> ScalarKernels.matching(4));
    }

    @Test
    void gemmPanel() {
        Random r = new Random(SEED);
        for (int round = 0; round < 300; round++) {
            int cols = 1 + r.nextInt(round < 100 ? 40 : 600), rows = 1 + r.nextInt(Kernels.PANEL);
            int tokens = 1 + r.nextInt(round % 3 == 0 ? 20 : 70), xOff = r.nextInt(4), outOff = r.nextInt(4);
            int outStride = rows + r.nextInt(5);
            float[] panel = random(r, cols * Kernels.PANEL, 1), x = random(r, xOff + tokens * cols, 1);
            float[] a = random(r, outOff + tokens * outStride, 1), b = a.clone();
            V.gemmPanel(panel, cols, rows, x, xOff, tokens, a, outOff, outStride);
            S.gemmPanel(panel, cols, rows, x, xOff, tokens, b, outOff, outStride);
            assertBits(a, b, "gemmPanel cols=" + cols + " rows=" + rows + " tokens=" + tokens);
        }
    }

    @Test
    void scoresAndWeightedSums() {
        Random r = new Random(SEED + 1);
        for (int round = 0; round < 400; round++) {
            int rows = 1 + r.nextInt(4), hd = round % 4 == 0 ? 128 : 1 + r.nextInt(140), tokens = 1 + r.nextInt(round % 2 == 0 ? 40 : 300);
            int qOff = r.nextInt(3), qStride = hd + r.nextInt(3), ktStride = tokens + r.nextInt(20), ktOff = r.nextInt(5);
            int sOff = r.nextInt(3), sStride = tokens + r.nextInt(4);
            float[] q = random(r, qOff + rows * qStride, 1), kt = random(r, ktOff + hd * ktStride, 1);
            float scale = (float) (1 / Math.sqrt(hd));
            float[] s1 = random(r, sOff + rows * sStride, 1), s2 = s1.clone();
            V.scores(q, qOff, qStride, rows, hd, kt, ktOff, ktStride, tokens, scale, s1, sOff, sStride);
            S.scores(q, qOff, qStride, rows, hd, kt, ktOff, ktStride, tokens, scale, s2, sOff, sStride);
            assertBits(s1, s2, "scores rows=" + rows + " hd=" + hd + " tokens=" + tokens);

            int vOff = r.nextInt(4), oOff = r.nextInt(3), oStride = hd + r.nextInt(3);
            float[] v = random(r, vOff + tokens * hd, 1);
            float[] o1 = random(r, oOff + rows * oStride, 1), o2 = o1.clone();
            V.weightedSum(s1, sOff, sStride, rows, v, vOff, tokens, hd, o1, oOff, oStride);
            S.weightedSum(s1, sOff, sStride, rows, v, vOff, tokens, hd, o2, oOff, oStride);
            assertBits(o1, o2, "weightedSum rows=" + rows + " hd=" + hd + " tokens=" + tokens);
        }
    }

    @Test
    void expShiftedAndSiluMul() {
        Random r = new Random(SEED + 2);
        for (int round = 0; round < 300; round++) {
            int n = 1 + r.nextInt(round < 150 ? 70 : 2000), off = r.nextInt(5);
            float[] x = random(r, off + n, round % 5 == 0 ? 60 : 4);
            if (round % 7 == 0) { // the ends of exp's range, and NaN
                float[] special = {88.5f, 88.72f, 88.73f, 100f, -87.3f, -87.4f, -200f, Float.NaN, Float.NEGATIVE_INFINITY, 0f, -0f};
                for (int i = 0; i < special.length && i < n; i++) x[off + r.nextInt(n)] = special[i];
            }
            float max = round % 3 == 0 ? 0f : (float) r.nextGaussian();
            float[] a = x.clone(), b = x.clone();
            float sa = V.expShifted(a, off, n, max), sb = S.expShifted(b, off, n, max);
            assertBits(a, b, "expShifted n=" + n);
            assertBits(new float[]{sa}, new float[]{sb}, "expShifted's sum n=" + n);

            int from = r.nextInt(n / S.lanes() + 1) * S.lanes(); // cut between the twins at a multiple of the lanes
            float[] c = x.clone();
            V.expShifted(c, off, from, max);
            float sc = S.expShifted(c, off, n, max, from);
            assertBits(a, c, "expShifted cut at " + from + " of n=" + n);
            assertBits(new float[]{sa}, new float[]{sc}, "expShifted's sum cut at " + from + " of n=" + n);

            float[] g1 = random(r, n, round % 5 == 0 ? 40 : 3), up = random(r, n, 1);
            float[] g2 = g1.clone(), g3 = g1.clone();
            V.siluMul(g1, up, n);
            S.siluMul(g2, up, n);
            assertBits(g1, g2, "siluMul n=" + n);
            V.siluMul(g3, up, from);
            S.siluMul(g3, up, from, n);
            assertBits(g1, g3, "siluMul cut at " + from + " of n=" + n);
        }
    }

    @Test
    void expLaneAgainstMathExp() {
        Random r = new Random(SEED + 3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (r.nextDouble() * 175 - 87);
            float e = ScalarKernels.expLane(x), m = (float) Math.exp(x);
            assertTrue(Math.abs(e - m) <= 2 * Math.ulp(m), "exp(" + x + ") = " + e + " against " + m);
        }
        assertEquals(Float.POSITIVE_INFINITY, ScalarKernels.expLane(89f));
        assertEquals(0f, ScalarKernels.expLane(-88f));
        assertTrue(Float.isNaN(ScalarKernels.expLane(Float.NaN)));
    }

    /** Panels from the file's rows (every type) and from the packed groups (Q8_0, Q4_K), with fewer rows than a panel. */
    @Test
    void panels() {
        Random r = new Random(SEED + 4);
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K};
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType type : types) {
                for (int cols : new int[]{256, 512, 768}) {
                    int matrixRows = 1 + r.nextInt(100);
                    Weights file = KernelsTest.randomWeights(r, type, matrixRows, cols);
                    Weights w = V.prepare(file, arena);
                    for (int row = 0; row < matrixRows; row += Kernels.PANEL) {
                        int count = Math.min(Kernels.PANEL, matrixRows - row);
                        float[] rows = new float[Kernels.PANEL * cols];
                        float[] p1 = random(r, cols * Kernels.PANEL, 1), p2 = random(r, cols * Kernels.PANEL, 1);
                        V.panel(w, row, count, rows, p1);
                        S.panel(w, row, count, rows, p2);
                        assertBits(p1, p2, type + " panel rows " + row + "+" + count + " of " + matrixRows + " x " + cols
                                + (w.packed() != null ? " (packed)" : ""));
                        if (count > Kernels.PANEL / 2) { // the first half by the vector twin, the rest by the scalar one
                            float[] p3 = random(r, cols * Kernels.PANEL, 1);
                            V.panel(w, row, Kernels.PANEL / 2, rows, p3);
                            S.panelLanes(w, row, count, Kernels.PANEL / 2, rows, p3);
                            assertBits(p1, p3, type + " panel cut in two, rows " + row + "+" + count);
                        }
                    }
                }
            }
        }
    }
}
