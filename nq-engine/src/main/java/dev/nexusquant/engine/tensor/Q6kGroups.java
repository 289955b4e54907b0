package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q6_K weights rearranged at load for the 16-lane decode kernel {@link VectorKernels#dotQ6_KGroup}, which computes 16
 * rows at once with one row per lane, on 16-bit integer lanes, as {@link Q4kGroups} does for Q4_K. The low 4 bits of
 * each 6-bit value are laid out exactly as Q4_K's nibbles are in {@link Q4kGroups} (nibble {@code k} of chunk
 * {@code ch} is column {@link Q4kGroups#column}{@code (ch, k)} of the block), so the kernel multiplies them by the same
 * prepared x ({@link Q4kActivations#prepareGroups}); their 2 high bits travel beside them, one int per row and pair of
 * chunks. Rows are taken in groups of 16 (the last group padded with zero rows: scale 0); per group and block of 256
 * columns:
 *
 * <pre>
 * quants [16 pairs p][3][16 rows][4 bytes]: for chunks 2p and 2p + 1 of row r:
 *        [0] low 4 bits of the values of chunk 2p (nibble k = column Q4kGroups.column(2p, k)),
 *        [1] the same for chunk 2p + 1,
 *        [2] their high 2 bits: nibble k of chunk 2p + t (t = 0, 1) at bit {@link #highBit}(t, k)
 * meta   [4][16 rows][4 bytes]: the int8 scales of sub-blocks 4j .. 4j + 3 (byte t: sub-block 4j + t), then [16]
 *        float32 d
 * </pre>
 *
 * The quants of all groups come first, then the metadata of all groups (two streams that each run forward). 212 bytes
 * per row and block against 210 in the file. Prefill and single rows read the file's rows.
 */
final class Q6kGroups {

    /** Rows per group: one per lane of a 512-bit float vector. */
    static final int ROWS = GroupedRows.ROWS;
    /** Quant bytes of one group and block: 16 pairs of chunks, each 3 x 64 bytes. */
    static final int QUANTS = ROWS * 192;
    /** Bytes of one pair of chunks (low bits of two chunks, then their high bits). */
    static final int PAIR = 3 * 64;
    /** Metadata bytes of one group and block. */
    static final int META = ROWS * 20;
    static final ValueLayout.OfFloat F32 = Q8Groups.F32;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Q6kGroups() {
    }

    /** Whether {@code w} can be grouped: Q6_K (whole 256-value blocks by definition). */
    static boolean packable(Weights w) {
        return w.type() == GgmlType.Q6_K;
    }

    static int groups(int rows) {
        return GroupedRows.groups(rows);
    }

    /** Bytes of a grouped matrix. */
    static long bytes(int rows, int cols) {
        return (long) groups(rows) * (cols / 256) * (QUANTS + META);
    }

    /** Byte offset of the quants of group {@code g}. */
    static long quants(int g, int cols) {
        return (long) g * (cols / 256) * QUANTS;
    }

    /** Byte offset of the metadata of group {@code g} in a matrix of {@code rows} rows. */
    static long meta(int g, int rows, int cols) {
        return (long) groups(rows) * (cols / 256) * QUANTS + (long) g * (cols / 256) * META;
    }

    /**
     * Bit of the high-bits int of a pair where the high 2 bits of nibble {@code k} (0..7) of its chunk {@code t} (0: the
     * even chunk, 1: the odd one) start: nibbles 0..3 in the int's low 16 bits (the 16-bit lane that holds those nibbles
     * of the quants), 4..7 in its high 16 bits; within a 16-bit half, bits {@code 2j} for the even chunk and {@code 8 +
     * 2j} for the odd one ({@code j = k % 4}).
     */
    static int highBit(int t, int k) {
        return 16 * (k / 4) + 8 * t + 2 * (k % 4);
    }

    /**
     * {@code w} with a grouped copy of its rows allocated in {@code arena} (groups spread over the engine's threads), or
     * {@code w} as it is when the JVM's limit on native memory leaves no room for the copy.
     */
    static Weights pack(Weights w, Arena arena) {
        if (!packable(w)) throw new IllegalArgumentException(w.name() + ": not packable: " + w.type());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p = GroupedRows.allocateOrNull(arena, bytes(rows, cols));
        if (p == null) return w;
        Parallel.forRange(groups(rows), Parallel.threads(), 4, (from, to) -> {
            int[] values = new int[256];
            for (int g = from; g < to; g++) packGroup(w, g, p, values);
        });
        return w.withPacked(p);
    }

    /** Group {@code g} of {@code w}'s rows (those that exist) into {@code dst}; {@code values} [256] is scratch. */
    static void packGroup(Weights w, int g, MemorySegment dst, int[] values) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / 256;
        MemorySegment src = w.data();
        for (int i = 0; i < ROWS && ROWS * g + i < rows; i++) {
            long off = w.rowOffset(ROWS * g + i);
            long q = quants(g, cols) + 4L * i, m = meta(g, rows, cols) + 4L * i;
            for (int b = 0; b < blocks; b++, off += 210, q += QUANTS, m += META) {
                values(src, off, values);
                for (int pr = 0; pr < 16; pr++) {
                    int high = 0;
                    for (int t = 0; t < 2; t++) {
                        int low = 0;
                        for (int k = 0; k < 8; k++) {
                            int v = values[Q4kGroups.column(2 * pr + t, k)];
                            low |= (v & 15) << 4 * k;
                            high |= (v >> 4) << highBit(t, k);
                        }
                        dst.set(I32, q + (long) PAIR * pr + 64L * t, low);
                    }
                    dst.set(I32, q + (long) PAIR * pr + 128, high);
                }
                for (int j = 0; j < 4; j++) dst.set(I32, m + 64L * j, src.get(I32, off + 192 + 4L * j)); // scales 4j .. 4j + 3
                dst.set(F32, m + 256, Quants.f16(src, off + 208));
            }
        }
    }

    /**
     * The 256 unsigned 6-bit values (0..63, before the offset of 32) of the Q6_K block at {@code off}: for half
     * {@code h} and {@code l < 32}, {@code ql[64h + l]} holds values {@code 128h + l} (low nibble) and {@code + 64}
     * (high), {@code ql[64h + 32 + l]} values {@code 128h + l + 32} and {@code + 96}, and {@code qh[32h + l]} the high 2
     * bits of those four, from its lowest bits up.
     */
    static void values(MemorySegment s, long off, int[] v) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int a = s.get(ValueLayout.JAVA_BYTE, off + 64 * h + l) & 0xFF, b = s.get(ValueLayout.JAVA_BYTE, off + 64 * h + 32 + l) & 0xFF;
                int hb = s.get(ValueLayout.JAVA_BYTE, off + 128 + 32 * h + l) & 0xFF;
                int y = 128 * h + l;
                v[y] = (a & 15) | (hb & 3) << 4;
                v[y + 32] = (b & 15) | (hb >> 2 & 3) << 4;
                v[y + 64] = (a >> 4) | (hb >> 4 & 3) << 4;
                v[y + 96] = (b >> 4) | (hb >> 6 & 3) << 4;
            }
        }
    }
}
