package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The memory-order variants of the grouped Q8_0 kernel ({@link Q8GroupStreams}) against the scalar twin of the
 * one-group kernel, bit for bit: random quants (with -128s), random fp16 scales of very different sizes, x with blocks of
 * very different ranges, many column counts and group counts.
 */
class Q8GroupStreamsTest {

    static final long SEED = Long.getLong("nq.kernels.seed", System.nanoTime());

    @Test
    void everyVariantGivesTheScalarTwinsBits() {
        if (!Kernels.vector().name().equals("vector512")) return; // grouped Q8_0 rows exist for 16 lanes only
        Random r = new Random(SEED);
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 40; trial++) {
                int cols = 32 * (1 + r.nextInt(trial < 20 ? 8 : 300));
                int rows = 16 * (2 + r.nextInt(4)) - r.nextInt(16);
                byte[] file = KernelsTest.randomQ8_0File(r, rows, cols);
                if (trial % 3 == 0) java.util.Arrays.fill(file, 2, 34, (byte) -128);
                Weights p = Q8Groups.pack(new Weights("w", GgmlType.Q8_0, rows, cols, MemorySegment.ofArray(file)), arena);
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) x[i] = (float) (r.nextGaussian() * (i / 32 % 5 == 0 ? 100 : 1));
                if (trial % 3 == 0) java.util.Arrays.fill(x, 0, 32, -1f); // meets the -128s
                Q8Activations a = new Q8Activations().prepare(x, 0, cols);
                int groups = Q8Groups.groups(rows);
                float[] twin = new float[16 * groups];
                for (int g = 0; g < groups; g++) {
                    ScalarKernels.dotQ8_0GroupQ8(p.packed(), Q8Groups.quants(g, cols), Q8Groups.scales(g, cols), a.xq, a.xd, cols, twin, 16 * g);
                }
                for (int g = 0; g < groups; g++) {
                    int h = r.nextInt(groups); // any second group, the same one included
                    float[] pair = new float[48];
                    VectorKernels.dotQ8_0GroupPairQ8(p.packed(), Q8Groups.quants(g, cols), Q8Groups.quants(h, cols), a.xq, a.xd, cols, pair, 0, 32);
                    same(twin, 16 * g, pair, 0, 16, "pair (" + g + ", " + h + "), first, cols " + cols);
                    same(twin, 16 * h, pair, 32, 16, "pair (" + g + ", " + h + "), second, cols " + cols);
                    for (int i = 16; i < 32; i++) assertEquals(0f, pair[i], "untouched");
                    int[] k = {g, r.nextInt(groups), r.nextInt(groups), r.nextInt(groups)};
                    float[] quad = new float[64];
                    VectorKernels.dotQ8_0GroupQuadQ8(p.packed(), Q8Groups.quants(k[0], cols), Q8Groups.quants(k[1], cols), Q8Groups.quants(k[2], cols),
                            Q8Groups.quants(k[3], cols), a.xq, a.xd, cols, quad, 48, 0, 32, 16);
                    int[] at = {48, 0, 32, 16};
                    for (int i = 0; i < 4; i++) same(twin, 16 * k[i], quad, at[i], 16, "quad, stream " + i + " (group " + k[i] + "), cols " + cols);
                }
            }
        }
    }

    private static void same(float[] want, int wOff, float[] got, int gOff, int n, String what) {
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(want[wOff + i]), Float.floatToRawIntBits(got[gOff + i]),
                    what + ", row " + i + ": " + want[wOff + i] + " against " + got[gOff + i] + " (seed " + SEED + ")");
        }
    }
}
