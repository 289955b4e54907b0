package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q8_0 weights rearranged at load for the 16-lane decode kernel {@link VectorKernels#dotQ8_0Group}, which computes 16
 * rows at once with one row per lane (as {@link Q4kGroups} for Q4_K): a 64-byte load holds 4 columns of 16 rows (4
 * bytes per row, one int lane), each value taken by two shifts (the sign comes along), converted, and multiplied by
 * one broadcast activation; no lane sums, and one read of x per 16 rows (a row
 * kernel reads 64 bytes of x per 16 values: 32 KB per 8192-value row, which no longer stays in L1 while weights
 * stream through it). Rows in groups of 16 (the last padded with zero rows); per group and block of 32 columns:
 *
 * <pre>
 * [groups][cols / 32] blocks of {@link #BLOCK} bytes, each:
 *   quants [8 chunks][16 rows][4 columns] int8   (chunk j: columns 4j .. 4j + 3 of the block)
 *   scales [16 rows] float32                     (right after the block's quants: one stream of reads)
 * </pre>
 *
 * 36 bytes per row and block against 34 in the file (scales as float32). The scales follow their block's quants so
 * that decode reads one sequential stream (with the scales in a region of their own after all the quants, a second
 * stream, RowThroughput Q8_0 from memory was slower: BENCHMARKS.md, "Decode on a new machine"). Prefill decodes the groups straight into its
 * panels; single rows ({@code dotRow}) and the token embedding read the file's rows.
 */
final class Q8Groups {

    static final int ROWS = GroupedRows.ROWS;
    /** Quant bytes of one group and block. */
    static final int QUANTS = ROWS * 32;
    /** Scale bytes of one group and block. */
    static final int SCALES = ROWS * 4;
    /** Bytes of one group and block: its quants, then its scales. */
    static final int BLOCK = QUANTS + SCALES;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Q8Groups() {
    }

    /**
     * Whether {@code w} is grouped at load: every Q8_0 matrix (the 512-value rows of the project's model as well as the
     * 1B shape's: a group of 16 rows needs no lane sums at the end of each row).
     */
    static boolean worthPacking(Weights w) {
        return w.type() == GgmlType.Q8_0;
    }

    static int groups(int rows) {
        return GroupedRows.groups(rows);
    }

    /** Bytes of a grouped matrix. */
    static long bytes(int rows, int cols) {
        return (long) groups(rows) * (cols / 32) * BLOCK;
    }

    /** Byte offset of the quants of group {@code g}'s first block (block {@code b}'s: {@code + b * BLOCK}). */
    static long quants(int g, int cols) {
        return (long) g * (cols / 32) * BLOCK;
    }

    /** Byte offset of the scales of group {@code g}'s first block (block {@code b}'s: {@code + b * BLOCK}). */
    static long scales(int g, int cols) {
        return quants(g, cols) + QUANTS;
    }

    /**
     * {@code w} with a grouped copy of its rows allocated in {@code arena} (groups spread over every core: {@link Parallel#forRangeAtLoad}), or
     * {@code w} as it is when the JVM's limit on native memory ({@code -XX:MaxDirectMemorySize}) leaves no room.
     */
    static Weights pack(Weights w, Arena arena) {
        if (w.type() != GgmlType.Q8_0) throw new IllegalArgumentException(w.name() + ": not Q8_0: " + w.type());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p = GroupedRows.allocateOrNull(arena, bytes(rows, cols));
        if (p == null) return w;
        Parallel.forRangeAtLoad(groups(rows), 4, GroupedRows.minGroupsPerThread(p.byteSize(), groups(rows)), (from, to) -> {
            int[] q = new int[(cols / 32) * QUANTS / 4];
            float[] sc = new float[(cols / 32) * ROWS];
            for (int g = from; g < to; g++) {
                packGroup(w, g, q, sc);
                long at = quants(g, cols);
                for (int b = 0; b < cols / 32; b++, at += BLOCK) {
                    MemorySegment.copy(q, b * (QUANTS / 4), p, I32, at, QUANTS / 4);
                    MemorySegment.copy(sc, b * ROWS, p, F32, at + QUANTS, ROWS);
                }
            }
        });
        return w.withPacked(p);
    }

    /**
     * Group {@code g} of {@code w}: quants into {@code q} ([cols / 32][8 chunks][16 rows] ints of 4 little-endian
     * bytes, the file's bytes moved 4 at a time), scales into {@code sc} ([cols / 32][16]), rows past the matrix's end 0.
     */
    static void packGroup(Weights w, int g, int[] q, float[] sc) {
        int blocks = w.cols() / 32;
        java.util.Arrays.fill(q, 0);
        java.util.Arrays.fill(sc, 0f);
        MemorySegment d = w.data();
        for (int i = 0; i < ROWS && ROWS * g + i < w.rows(); i++) {
            long off = w.rowOffset(ROWS * g + i);
            for (int b = 0; b < blocks; b++, off += 34) {
                sc[b * ROWS + i] = Float.float16ToFloat(d.get(I16, off));
                for (int j = 0; j < 8; j++) q[b * (QUANTS / 4) + ROWS * j + i] = d.get(I32, off + 2 + 4 * j);
            }
        }
    }
}
