package dev.nexusquant.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The two-group k-quant kernels ({@link KGroupStreams}) against the one-group kernels, bit for bit, for every pair of
 * groups of random matrices (padding rows included) and x with blocks of very different ranges. Seeded; replay with
 * -Dnq.kernels.seed=S.
 */
class KGroupStreamsTest {

    static final long SEED = KernelsTest.SEED;

    @Test
    void q6kPairsAreTwoGroups() {
        if (!Q6kGroupsTest.LANES16) return;
        Random r = new Random(SEED + 60);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : new int[]{256, 768, 2048}) {
                int rows = 16 * (2 + r.nextInt(3)) - r.nextInt(8);
                Weights p = Q6kGroups.pack(Q6kGroupsTest.randomQ6kRows(r, rows, cols), arena);
                Q4kActivations a = new Q4kActivations().prepareGroups(Q6kGroupsTest.randomX(r, cols, 0), 0, cols);
                int groups = Q6kGroups.groups(rows);
                for (int g = 0; g < groups; g++) {
                    for (int g1 = 0; g1 < groups; g1++) {
                        float[] one = new float[32], two = new float[32];
                        VectorKernels.dotQ6_KGroup(p.packed(), Q6kGroups.quants(g, cols), Q6kGroups.meta(g, rows, cols), a.xq, a.xd, cols, one, 0);
                        VectorKernels.dotQ6_KGroup(p.packed(), Q6kGroups.quants(g1, cols), Q6kGroups.meta(g1, rows, cols), a.xq, a.xd, cols, one, 16);
                        KGroupStreams.dotQ6_KPair(p.packed(), Q6kGroups.quants(g, cols), Q6kGroups.meta(g, rows, cols), Q6kGroups.quants(g1, cols),
                                Q6kGroups.meta(g1, rows, cols), a.xq, a.xd, cols, two, 0, 16);
                        same(one, two, "Q6_K groups " + g + ", " + g1 + " cols=" + cols);
                    }
                }
            }
        }
    }

    @Test
    void q4kPairsAreTwoGroups() {
        if (!Q6kGroupsTest.LANES16) return;
        Random r = new Random(SEED + 61);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : new int[]{256, 768, 2048}) {
                int rows = 16 * (2 + r.nextInt(3)) - r.nextInt(8);
                Weights p = Q4kGroups.pack(KernelsTest.randomQ4kRows(r, rows, cols), arena);
                Q4kActivations a = new Q4kActivations().prepareGroups(Q6kGroupsTest.randomX(r, cols, 0), 0, cols);
                int groups = Q4kGroups.groups(rows);
                for (int g = 0; g < groups; g++) {
                    for (int g1 = 0; g1 < groups; g1++) {
                        float[] one = new float[32], two = new float[32];
                        VectorKernels.dotQ4_KGroup(p.packed(), Q4kGroups.quants(g, cols), Q4kGroups.meta(g, rows, cols), a.xq, a.xd, cols, one, 0);
                        VectorKernels.dotQ4_KGroup(p.packed(), Q4kGroups.quants(g1, cols), Q4kGroups.meta(g1, rows, cols), a.xq, a.xd, cols, one, 16);
                        KGroupStreams.dotQ4_KPair(p.packed(), Q4kGroups.quants(g, cols), Q4kGroups.meta(g, rows, cols), Q4kGroups.quants(g1, cols),
                                Q4kGroups.meta(g1, rows, cols), a.xq, a.xd, cols, two, 0, 16);
                        same(one, two, "Q4_K groups " + g + ", " + g1 + " cols=" + cols);
                    }
                }
            }
        }
    }

    private static void same(float[] one, float[] two, String what) {
        for (int i = 0; i < one.length; i++) {
            assertEquals(Float.floatToRawIntBits(one[i]), Float.floatToRawIntBits(two[i]),
                    what + " lane " + i + ": " + one[i] + " against " + two[i] + " (seed " + SEED + ")");
        }
    }
}
