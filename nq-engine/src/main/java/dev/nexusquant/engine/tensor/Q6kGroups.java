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
            Packer packer = new Packer();
            for (int g = from; g < to; g++) packer.group(w, g, p);
        });
        return w.withPacked(p);
    }

    /** [32 chunks][8 nibbles]: the block's column of nibble k of chunk ch ({@link Q4kGroups#column}). */
    private static final int[] COLUMN = new int[256];

    static {
        for (int ch = 0; ch < 32; ch++) {
            for (int k = 0; k < 8; k++) COLUMN[8 * ch + k] = Q4kGroups.column(ch, k);
        }
    }

    /**
     * Packs groups one block at a time: each row's 210 file bytes copied out once, its values unpacked, and the group's
     * block assembled in int arrays and written with one bulk copy each for the quants and the metadata. Per thread.
     */
    private static final class Packer {
        final byte[] block = new byte[210];
        final int[] values = new int[256];
        /** [QUANTS / 4]: one group's block of quants, as {@link Q6kGroups} lays it out. */
        final int[] quants = new int[QUANTS / 4];
        /** [META / 4]: its scales (64 ints), then d (16 floats' bits). */
        final int[] meta = new int[META / 4];

        void group(Weights w, int g, MemorySegment dst) {
            int rows = w.rows(), cols = w.cols(), blocks = cols / 256, present = Math.min(ROWS, rows - ROWS * g);
            MemorySegment src = w.data();
            long q = quants(g, cols), m = meta(g, rows, cols);
            for (int b = 0; b < blocks; b++, q += QUANTS, m += META) {
                if (present < ROWS) { // padding rows stay 0 (scale 0)
                    java.util.Arrays.fill(quants, 0);
                    java.util.Arrays.fill(meta, 0);
                }
                for (int i = 0; i < present; i++) {
                    long off = w.rowOffset(ROWS * g + i) + 210L * b;
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, off, block, 0, 210);
                    values(block, values);
                    for (int pr = 0; pr < 16; pr++) {
                        int low0 = 0, low1 = 0, high = 0;
                        for (int k = 0; k < 8; k++) {
                            int a = values[COLUMN[16 * pr + k]], c = values[COLUMN[16 * pr + 8 + k]];
                            low0 |= (a & 15) << 4 * k;
                            low1 |= (c & 15) << 4 * k;
                            high |= (a >> 4) << highBit(0, k) | (c >> 4) << highBit(1, k);
                        }
                        int at = 48 * pr + i; // [pair][3][16 rows] ints
                        quants[at] = low0;
                        quants[at + 16] = low1;
                        quants[at + 32] = high;
                    }
                    for (int j = 0; j < 4; j++) { // scales 4j .. 4j + 3, little-endian
                        meta[16 * j + i] = block[192 + 4 * j] & 0xFF | (block[193 + 4 * j] & 0xFF) << 8
                                | (block[194 + 4 * j] & 0xFF) << 16 | block[195 + 4 * j] << 24;
                    }
                    meta[64 + i] = Float.floatToRawIntBits(Float.float16ToFloat((short) (block[208] & 0xFF | block[209] << 8)));
                }
                MemorySegment.copy(quants, 0, dst, I32, q, quants.length);
                MemorySegment.copy(meta, 0, dst, I32, m, meta.length);
            }
        }
    }

    /**
     * The 256 unsigned 6-bit values (0..63, before the offset of 32) of a Q6_K block ({@code b}, its 210 bytes): for half
     * {@code h} and {@code l < 32}, {@code ql[64h + l]} holds values {@code 128h + l} (low nibble) and {@code + 64}
     * (high), {@code ql[64h + 32 + l]} values {@code 128h + l + 32} and {@code + 96}, and {@code qh[32h + l]} the high 2
     * bits of those four, from its lowest bits up.
     */
    static void values(byte[] blk, int[] v) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int a = blk[64 * h + l] & 0xFF, b = blk[64 * h + 32 + l] & 0xFF, hb = blk[128 + 32 * h + l] & 0xFF;
                int y = 128 * h + l;
                v[y] = (a & 15) | (hb & 3) << 4;
                v[y + 32] = (b & 15) | (hb >> 2 & 3) << 4;
                v[y + 64] = (a >> 4) | (hb >> 4 & 3) << 4;
                v[y + 96] = (b >> 4) | (hb >> 6 & 3) << 4;
            }
        }
    }
}
