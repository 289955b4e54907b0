package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q4_K weights rearranged at load for the 16-lane decode kernel {@link VectorKernels#dotQ4_KGroup}, which computes 16
 * rows at once with one row per lane: a 64-byte load holds 4 quant bytes (8 values) of each of 16 rows; read as 32
 * lanes of 16 bits, each nibble is taken with a shift and a mask and multiplied by a broadcast pair of 8-bit activations.
 * No lane sums at the end of a row, one activation read per 16 rows, and the scales of 16 rows are one vector. Rows are taken in groups of 16 (the
 * last group padded with zero rows); per group and block of 256 columns:
 *
 * <pre>
 * quants [32 chunks][16 rows][4 bytes]: chunk ch of row r = the file's quant bytes 4ch .. 4ch + 3 of row r's block
 * meta   [4][16 rows][4 bytes]: scale 2g, scale 2g + 1, min 2g, min 2g + 1 (one int lane per row: one 64-byte load
 *        and shifts give the kernel a vector of 16 rows' scales; byte loads widened across lanes fell back to the
 *        Java code in some processes), then [16] float32 d, [16] float32 -dmin
 * </pre>
 *
 * The quants of all groups come first, then the metadata of all groups (two streams that each run forward, as in
 * {@link Q8Groups}). 152 bytes per row and block against 144 in the file. Prefill and single rows ({@link VectorKernels#dequantizeRows},
 * {@code dotRow}) read the file's rows.
 */
final class Q4kGroups {

    /** Rows per group: one per lane of a 512-bit float vector. */
    static final int ROWS = GroupedRows.ROWS;
    /** Quant bytes of one group and block. */
    static final int QUANTS = ROWS * 128;
    /** Metadata bytes of one group and block. */
    static final int META = ROWS * 24;
    static final ValueLayout.OfFloat F32 = Q8Groups.F32;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Q4kGroups() {
    }

    /** Whether {@code w} can be grouped: Q4_K (whole 256-value blocks by definition). */
    static boolean packable(Weights w) {
        return w.type() == GgmlType.Q4_K;
    }

    static int groups(int rows) {
        return GroupedRows.groups(rows);
    }

    /** Bytes of a grouped matrix. */
    static long bytes(int rows, int cols) {
        return GroupedRows.twoStreamBytes(rows, cols, QUANTS, META);
    }

    /** Byte offset of the quants of group {@code g}. */
    static long quants(int g, int cols) {
        return GroupedRows.twoStreamQuants(g, cols, QUANTS);
    }

    /** Byte offset of the metadata of group {@code g} in a matrix of {@code rows} rows. */
    static long meta(int g, int rows, int cols) {
        return GroupedRows.twoStreamMeta(g, rows, cols, QUANTS, META);
    }

    /**
     * {@code w} with a grouped copy of its rows allocated in {@code arena} (groups spread over every core: {@link Parallel#forRangeAtLoad}), or
     * {@code w} as it is when the JVM's limit on native memory leaves no room for the copy.
     */
    static Weights pack(Weights w, Arena arena) {
        if (!packable(w)) throw new IllegalArgumentException(w.name() + ": not packable: " + w.type());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p = GroupedRows.allocateOrNull(arena, bytes(rows, cols));
        if (p == null) return w;
        Parallel.forRangeAtLoad(groups(rows), 4, GroupedRows.minGroupsPerThread(p.byteSize(), groups(rows)), (from, to) -> {
            for (int g = from; g < to; g++) packGroup(w, g, p);
        });
        return w.withPacked(p);
    }

    /** Group {@code g} of {@code w}'s rows (those that exist) into {@code dst}. */
    static void packGroup(Weights w, int g, MemorySegment dst) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / 256;
        MemorySegment src = w.data();
        for (int i = 0; i < ROWS && ROWS * g + i < rows; i++) {
            long off = w.rowOffset(ROWS * g + i);
            long q = quants(g, cols) + 4L * i, m = meta(g, rows, cols) + i;
            for (int b = 0; b < blocks; b++, off += 144, q += QUANTS, m += META) {
                for (int ch = 0; ch < 32; ch++) dst.set(I32, q + 64L * ch, src.get(I32, off + 16 + 4L * ch));
                for (int j = 0; j < 8; j++) {
                    long at = m - i + 64L * (j / 2) + 4L * i + j % 2;
                    dst.set(ValueLayout.JAVA_BYTE, at, (byte) Quants.q4kScale(src, off + 4, j));
                    dst.set(ValueLayout.JAVA_BYTE, at + 2, (byte) Quants.q4kMin(src, off + 4, j));
                }
                dst.set(F32, m - i + 256 + 4L * i, Quants.f16(src, off));
                dst.set(F32, m - i + 320 + 4L * i, -Quants.f16(src, off + 2));
            }
        }
    }

    /**
     * Column (0..255, within a block) of nibble {@code k} (bits {@code 4k .. 4k + 3}) of chunk {@code ch}'s int: byte
     * {@code 4ch + k / 2} of the block's quants, low nibble for even {@code k}; in the file, byte {@code i} of 32-byte
     * group {@code q} holds value {@code 64q + i} (low nibble) and {@code 64q + 32 + i} (high nibble).
     */
    static int column(int ch, int k) {
        int b = 4 * ch + k / 2;
        return 64 * (b / 32) + 32 * (k % 2) + b % 32;
    }
}
