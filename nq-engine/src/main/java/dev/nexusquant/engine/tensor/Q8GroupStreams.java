package dev.nexusquant.engine.tensor;


import java.lang.foreign.MemorySegment;

/**
 * How decode's grouped Q8_0 product walks memory: the arithmetic per group is {@link VectorKernels#dotQ8_0GroupQ8}'s, so
 * each group's 16 results are bit for bit those of the one-group kernel and of its scalar twin
 * {@link ScalarKernels#dotQ8_0GroupQ8}; what differs is how many groups one loop reads at once, for a core that streams
 * far below its read rate with one stream (the quiet Xeon: one core reads 16.1 GB/s, the one-group kernel 8.0 GB/s from
 * memory).
 *
 * <ul>
 *   <li>{@code split4} (the default): groups g, g + quarter, g + 2 quarter, g + 3 quarter of a product's whole groups in
 *       one loop ({@link VectorKernels#dotQ8_0GroupQuadQ8}), four streams of loads, one broadcast of x for four groups;
 *       the last whole groups that do not fill a four take the one-group kernel. On the shared EPYC (2026-12-04 19:15-19:20,
 *       load 2.7-3.4) 1B Q8_0 decode 1.08-1.20x over {@code split} and 1.52-1.61x over {@code one} in alternating
 *       processes (3 of 3 pairs each).</li>
 *   <li>{@code split}: groups g and g + half in one loop ({@link VectorKernels#dotQ8_0GroupPairQ8}), two streams. On the
 *       quiet Xeon (2026-12-04 18:26, pinned, load 0.5-1.4): RowThroughput from memory 7.96 -> 9.65 GB/s, 1B Q8_0 decode
 *       4.58 / 5.11 -> 6.33 / 7.00 tokens/s over {@code one} in two alternating pairs (BENCHMARKS.md, "Decode,
 *       2026-12-04 (sixth session)").</li>
 *   <li>{@code one}: one group a loop ({@link VectorKernels#dotQ8_0GroupQ8}).</li>
 * </ul>
 * Chosen by {@code -Dnq.q8Kernel=split4|split|one}. Tried and removed (2026-12-04, sixth session): adjacent groups in
 * one loop (slower from memory on the shared EPYC) and scalar loads 1 or 4 KB ahead of each block as a "prefetch" (Java
 * has none; 6.4 and 5.4 GB/s from memory on the Xeon against 8.0 without).
 */
final class Q8GroupStreams {

    /** {@code -Dnq.q8Kernel}: {@code split4} (the default: four groups a quarter apart), {@code split} or {@code one}. */
    static final String KERNEL = System.getProperty("nq.q8Kernel", "split4").toLowerCase(java.util.Locale.ROOT);
    static final boolean SPLIT = KERNEL.equals("split"), SPLIT4 = KERNEL.equals("split4");

    static {
        if (!SPLIT && !SPLIT4 && !KERNEL.equals("one")) {
            throw new IllegalArgumentException("-Dnq.q8Kernel must be split4, split or one, not " + KERNEL);
        }
    }

    /** Whether decode takes one of these variants instead of {@link VectorKernels#dotQ8_0GroupQ8}. */
    static final boolean ON = SPLIT || SPLIT4;

    /**
     * Whole groups {@code g0 .. g1 - 1} of a grouped Q8_0 matrix of {@code n} columns into {@code out}, group {@code g}'s
     * rows at {@code o + 16 * (g - g0)}, by the variant the properties chose.
     */
    static void dotGroups(MemorySegment p, int g0, int g1, int[] xq, float[] xd, int n, float[] out, int o) {
        int g = g0;
        if (SPLIT4) {
            int quarter = (g1 - g0) / 4;
            for (int i = 0; i < quarter; i++) {
                int a = g0 + i;
                VectorKernels.dotQ8_0GroupQuadQ8(p, Q8Groups.quants(a, n), Q8Groups.quants(a + quarter, n), Q8Groups.quants(a + 2 * quarter, n),
                        Q8Groups.quants(a + 3 * quarter, n), xq, xd, n, out, o + 16 * i, o + 16 * (i + quarter),
                        o + 16 * (i + 2 * quarter), o + 16 * (i + 3 * quarter));
            }
            g = g0 + 4 * quarter;
        } else if (SPLIT) {
            int half = (g1 - g0) / 2;
            for (int i = 0; i < half; i++) {
                int a = g0 + i, b = a + half;
                VectorKernels.dotQ8_0GroupPairQ8(p, Q8Groups.quants(a, n), Q8Groups.quants(b, n), xq, xd, n, out, o + 16 * i, o + 16 * (i + half));
            }
            g = g0 + 2 * half;
        }
        for (; g < g1; g++) {
            long q = Q8Groups.quants(g, n);
            VectorKernels.dotQ8_0GroupQ8(p, q, q + Q8Groups.QUANTS, xq, xd, n, out, o + 16 * (g - g0));
        }
    }

    private Q8GroupStreams() {
    }
}
