package dev.nexusquant.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The two-group k-quant kernels ({@link KGroupStreams}) against the one-group kernels, bit for bit, for every pair of
 * groups of random matrices (padding rows included) and x with blocks of very different ranges. Seeded; replay with
 * -Dnq.kernels.seed=S.
 */
class KGroupStreamsTest {

    static final long SEED = KernelsTest.SEED;

    private interface OneGroup {
        void dot(MemorySegment p, long q, long m, int[] xq, float[] xd, int n, float[] out, int o);
    }

    private interface TwoGroups {
        void dot(MemorySegment p, long q, long m, long q1, long m1, int[] xq, float[] xd, int n, float[] out, int o, int o1);
    }

    @Test
    void q6kPairsAreTwoGroups() {
        Random r = new Random(SEED + 60);
        check(r, "Q6_K", (rows, cols, arena) -> Q6kGroups.pack(Q6kGroupsTest.randomQ6kRows(r, rows, cols), arena),
                Q6kGroups.QUANTS, Q6kGroups.META, VectorKernels::dotQ6_KGroup, KGroupStreams::dotQ6_KPair);
    }

    @Test
    void q4kPairsAreTwoGroups() {
        Random r = new Random(SEED + 61);
        check(r, "Q4_K", (rows, cols, arena) -> Q4kGroups.pack(KernelsTest.randomQ4kRows(r, rows, cols), arena),
                Q4kGroups.QUANTS, Q4kGroups.META, VectorKernels::dotQ4_KGroup, KGroupStreams::dotQ4_KPair);
    }

    private interface Packed {
        Weights make(int rows, int cols, Arena arena);
    }

    /** Every pair of groups of random matrices of the two-stream layout ({@code quants} + {@code meta} bytes per group and block). */
    private static void check(Random r, String type, Packed packed, int quants, int meta, OneGroup one, TwoGroups two) {
        if (!Q6kGroupsTest.LANES16) return;
        try (Arena arena = Arena.ofShared()) {
            for (int cols : new int[]{256, 768, 2048}) {
                int rows = 16 * (2 + r.nextInt(3)) - r.nextInt(8), groups = GroupedRows.groups(rows);
                MemorySegment p = packed.make(rows, cols, arena).packed();
                Q4kActivations a = new Q4kActivations().prepareGroups(Q6kGroupsTest.randomX(r, cols, 0), 0, cols);
                for (int g = 0; g < groups; g++) {
                    long q = GroupedRows.twoStreamQuants(g, cols, quants), m = GroupedRows.twoStreamMeta(g, rows, cols, quants, meta);
                    for (int g1 = 0; g1 < groups; g1++) {
                        long q1 = GroupedRows.twoStreamQuants(g1, cols, quants), m1 = GroupedRows.twoStreamMeta(g1, rows, cols, quants, meta);
                        float[] a1 = new float[32], a2 = new float[32];
                        one.dot(p, q, m, a.xq, a.xd, cols, a1, 0);
                        one.dot(p, q1, m1, a.xq, a.xd, cols, a1, 16);
                        two.dot(p, q, m, q1, m1, a.xq, a.xd, cols, a2, 0, 16);
                        for (int i = 0; i < 32; i++) {
                            assertEquals(Float.floatToRawIntBits(a1[i]), Float.floatToRawIntBits(a2[i]), type + " groups " + g + ", " + g1
                                    + " cols=" + cols + " lane " + i + ": " + a1[i] + " against " + a2[i] + " (seed " + SEED + ")");
                        }
                    }
                }
            }
        }
    }
}
