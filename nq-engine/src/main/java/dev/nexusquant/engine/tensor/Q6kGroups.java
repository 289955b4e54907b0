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
     * {@code w} with a grouped copy of its rows allocated in {@code arena} (groups spread over every core: {@link Parallel#forRangeAtLoad}), or
     * {@code w} as it is when the JVM's limit on native memory leaves no room for the copy.
     */
    static Weights pack(Weights w, Arena arena) {
        if (!packable(w)) throw new IllegalArgumentException(w.name() + ": not packable: " + w.type());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p = GroupedRows.allocateOrNull(arena, bytes(rows, cols));
        if (p == null) return w;
        Parallel.forRangeAtLoad(groups(rows), 4, GroupedRows.minGroupsPerThread(p.byteSize(), groups(rows)), (from, to) -> {
            Packer packer = new Packer();
            for (int g = from; g < to; g++) packer.group(w, g, p);
        });
        return w.withPacked(p);
    }

    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL;

    /**
     * Packs groups one block at a time: the group's block assembled in int arrays from each row's 210 file bytes read as
     * longs (eight bytes per operation, {@link #packBlock}), then written with one bulk copy each for the quants and the
     * metadata. Per thread.
     */
    private static final class Packer {
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
                for (int i = 0; i < present; i++) packBlock(src, w.rowOffset(ROWS * g + i) + 210L * b, quants, meta, i);
                MemorySegment.copy(quants, 0, dst, I32, q, quants.length);
                MemorySegment.copy(meta, 0, dst, I32, m, meta.length);
            }
        }
    }

    /**
     * Row {@code i}'s part of a group's block from the file's Q6_K block at {@code off} of {@code src}: its ints of
     * {@code quants} ([16 pairs][3][16 rows]) and of {@code meta} ([4][16 rows] scales, then [16] d), eight bytes at a time.
     *
     * <p>Pair {@code p} (chunks 2p and 2p + 1) holds the low 4 bits of Q4_K's quant bytes 8p .. 8p + 7 ({@link
     * Q4kGroups#column}): with H = p / 4 and l = 8 (p % 4) + 0..7, byte 8p + l % 8 takes columns 64H + l (low nibble) and
     * 64H + l + 32 (high). In the file, {@code ql[64h + l]} holds columns 128h + l (low) and 128h + l + 64 (high), {@code
     * ql[64h + 32 + l]} columns 128h + l + 32 and 128h + l + 96: so with A, B the longs at ql[64h + 8u] and ql[64h + 32 +
     * 8u], pair 8h + u is {@code A & 0x0F.. | (B & 0x0F..) << 4} and pair 8h + 4 + u is {@code A >>> 4 & 0x0F.. | B &
     * 0xF0..}. Their high bits are the 2-bit fields of {@code qh[32h + 8u .. + 7]} (bits 0..3 of each byte for pair 8h + u,
     * 4..7 for 8h + 4 + u), rearranged by {@link #highs}.
     */
    static void packBlock(MemorySegment src, long off, int[] quants, int[] meta, int i) {
        for (int h = 0; h < 2; h++) {
            for (int u = 0; u < 4; u++) {
                long a = src.get(I64, off + 64 * h + 8 * u), b = src.get(I64, off + 64 * h + 32 + 8 * u);
                long hb = src.get(I64, off + 128 + 32 * h + 8 * u);
                long lo = a & NIBBLES | (b & NIBBLES) << 4, hi = a >>> 4 & NIBBLES | b & ~NIBBLES;
                int at = 48 * (8 * h + u) + i; // [pair][3][16 rows] ints
                quants[at] = (int) lo;
                quants[at + 16] = (int) (lo >>> 32);
                quants[at + 32] = highs(hb & NIBBLES);
                at += 48 * 4;
                quants[at] = (int) hi;
                quants[at + 16] = (int) (hi >>> 32);
                quants[at + 32] = highs(hb >>> 4 & NIBBLES);
            }
        }
        for (int j = 0; j < 4; j++) meta[16 * j + i] = src.get(I32, off + 192 + 4 * j); // int8 scales 4j .. 4j + 3
        meta[64 + i] = Float.floatToRawIntBits(Quants.f16(src, off + 208));
    }

    /**
     * The high-bits int of a pair from its 8 file bytes' nibbles ({@code n}: nibble {@code s} in the low 4 bits of byte
     * {@code s}, s = 4t + 2a + c, holding the high 2 bits of nibbles k = 4a + 2c and 4a + 2c + 1 of chunk t): the 8 nibbles
     * gathered into 32 bits (nibble s at bit 4s), then nibbles 2, 3 swapped with 4, 5 so that nibble s lands at bit 16a +
     * 8t + 4c, which is {@link #highBit}(t, 4a + 2c) (and + 2 for the odd k).
     */
    static int highs(long n) {
        long x = (n | n >>> 4) & 0x00FF00FF00FF00FFL;
        x = (x | x >>> 8) & 0x0000FFFF0000FFFFL;
        x = (x | x >>> 16) & 0xFFFFFFFFL;
        long d = (x ^ x >>> 8) & 0xFF00L;
        return (int) (x ^ d ^ d << 8);
    }
}
