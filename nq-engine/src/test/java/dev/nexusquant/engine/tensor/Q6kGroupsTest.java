package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Q6_K rows in groups of 16 ({@link Q6kGroups}) and their kernel on 16-bit integer lanes ({@link
 * VectorKernels#dotQ6_KGroup}): bit for bit against the scalar twin, against the exact sum with x rounded to 8 bits,
 * and within that rounding of the float row kernel on the file's rows. Seeded; replay with -Dnq.kernels.seed=S.
 */
class Q6kGroupsTest {

    static final Kernels S = Kernels.scalar(), V = Kernels.vector();
    static final long SEED = KernelsTest.SEED;
    static final boolean LANES16 = V.name().equals("vector512");

    /** Q6_K rows of random bytes (every 6-bit value, every int8 scale, -128 included) with small finite fp16 d. */
    static Weights randomQ6kRows(Random r, int rows, int cols) {
        byte[] bytes = new byte[rows * cols / 256 * 210];
        r.nextBytes(bytes);
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < bytes.length; b += 210) bb.putShort(b + 208, Float.floatToFloat16((float) (r.nextGaussian() * 0.01)));
        return new Weights("w", GgmlType.Q6_K, rows, cols, MemorySegment.ofArray(bytes));
    }

    /** x with blocks of very different ranges, a block of zeros, and one value at the edge of rounding. */
    static float[] randomX(Random r, int n, int xOff) {
        float[] x = KernelsTest.random(r, n + xOff, 1);
        for (int i = xOff; i < x.length; i += 37) x[i] *= r.nextBoolean() ? 100 : 0.01f;
        if (n >= 512) Arrays.fill(x, xOff + 256, xOff + 512, 0f);
        x[xOff + r.nextInt(n)] = 127.5f / 127 * KernelsTest.q8Step(x, xOff) * 127;
        return x;
    }

    @Test
    void unpackedValuesMatchTheFileDecode() {
        Random r = new Random(SEED + 40);
        Weights w = randomQ6kRows(r, 3, 512);
        float[] d = new float[3 * 512];
        S.dequantizeRows(w, 0, 3, d, 0);
        int[] v = new int[256];
        for (int row = 0; row < 3; row++) {
            for (int b = 0; b < 2; b++) {
                long off = w.rowOffset(row) + 210L * b;
                values(w.data().asSlice(off, 210).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), v);
                float scale = Quants.f16(w.data(), off + 208);
                for (int i = 0; i < 256; i++) {
                    assertTrue(v[i] >= 0 && v[i] < 64, "6 bits");
                    int sc = w.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + 192 + i / 16);
                    assertEquals(d[row * 512 + 256 * b + i], scale * sc * (v[i] - 32), Math.abs(d[row * 512 + 256 * b + i]) * 1e-6f,
                            "row " + row + " block " + b + " value " + i);
                }
            }
        }
    }

    /**
     * The 256 unsigned 6-bit values (0..63, before the offset of 32) of a Q6_K block ({@code blk}, its 210 bytes), as
     * ggml's decode reads them: for half {@code h} and {@code l < 32}, {@code ql[64h + l]} holds values {@code 128h + l}
     * (low nibble) and {@code + 64} (high), {@code ql[64h + 32 + l]} values {@code 128h + l + 32} and {@code + 96}, and
     * {@code qh[32h + l]} the high 2 bits of those four, from its lowest bits up.
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

    /**
     * The grouped layout written value by value from its description in {@link Q6kGroups} (the packer of the fifth
     * session, which unpacked each block to 256 values and placed each by {@link Q4kGroups#column} and {@link
     * Q6kGroups#highBit}): [groups][blocks] quants, then [groups][blocks] metadata, as ints.
     */
    static int[] referencePack(Weights w) {
        int rows = w.rows(), cols = w.cols(), blocks = cols / 256, groups = Q6kGroups.groups(rows);
        int[] out = new int[(int) (Q6kGroups.bytes(rows, cols) / 4)];
        int[] v = new int[256];
        for (int g = 0; g < groups; g++) {
            for (int i = 0; i < 16 && 16 * g + i < rows; i++) {
                for (int b = 0; b < blocks; b++) {
                    long off = w.rowOffset(16 * g + i) + 210L * b;
                    byte[] blk = w.data().asSlice(off, 210).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    values(blk, v);
                    int q = (int) ((Q6kGroups.quants(g, cols) + (long) Q6kGroups.QUANTS * b) / 4);
                    int m = (int) ((Q6kGroups.meta(g, rows, cols) + (long) Q6kGroups.META * b) / 4);
                    for (int pr = 0; pr < 16; pr++) {
                        int low0 = 0, low1 = 0, high = 0;
                        for (int k = 0; k < 8; k++) {
                            int a = v[Q4kGroups.column(2 * pr, k)], c = v[Q4kGroups.column(2 * pr + 1, k)];
                            low0 |= (a & 15) << 4 * k;
                            low1 |= (c & 15) << 4 * k;
                            high |= (a >> 4) << Q6kGroups.highBit(0, k) | (c >> 4) << Q6kGroups.highBit(1, k);
                        }
                        out[q + 48 * pr + i] = low0;
                        out[q + 48 * pr + 16 + i] = low1;
                        out[q + 48 * pr + 32 + i] = high;
                    }
                    for (int j = 0; j < 4; j++) {
                        out[m + 16 * j + i] = blk[192 + 4 * j] & 0xFF | (blk[193 + 4 * j] & 0xFF) << 8
                                | (blk[194 + 4 * j] & 0xFF) << 16 | blk[195 + 4 * j] << 24;
                    }
                    out[m + 64 + i] = Float.floatToRawIntBits(Float.float16ToFloat((short) (blk[208] & 0xFF | blk[209] << 8)));
                }
            }
        }
        return out;
    }

    /** The packer's bits against the value-by-value layout, on random bytes, for many row counts (padding) and widths. */
    @Test
    void packedBitsMatchTheValueByValueLayout() {
        Random r = new Random(SEED + 43);
        try (Arena arena = Arena.ofShared()) {
            for (int t = 0; t < 40; t++) {
                int rows = 1 + r.nextInt(t < 20 ? 40 : 100), cols = 256 * (1 + r.nextInt(t < 20 ? 4 : 12));
                Weights w = randomQ6kRows(r, rows, cols);
                if (t % 5 == 0) w.data().fill((byte) (t % 2 == 0 ? 0xFF : 0)); // every bit set, every bit clear
                int[] expected = referencePack(w);
                Weights p = Q6kGroups.pack(w, arena);
                int[] actual = p.packed().toArray(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                assertEquals(expected.length, actual.length);
                for (int k = 0; k < expected.length; k++) {
                    int e = expected[k], a = actual[k];
                    if (e != a) {
                        throw new AssertionError("rows=" + rows + " cols=" + cols + " int " + k + ": " + Integer.toHexString(e)
                                + " expected, " + Integer.toHexString(a) + " packed (seed " + SEED + ")");
                    }
                }
            }
        }
    }

    @Test
    void highBitsOfAPairAreDisjoint() {
        long seen = 0;
        for (int t = 0; t < 2; t++) {
            for (int k = 0; k < 8; k++) {
                int bit = Q6kGroups.highBit(t, k);
                assertTrue(bit >= 0 && bit <= 30 && bit % 2 == 0);
                assertEquals(k < 4 ? 0 : 16, bit / 16 * 16, "nibbles 0..3 in the low half, 4..7 in the high half");
                assertEquals(0, seen & 3L << bit, "bit " + bit + " twice");
                seen |= 3L << bit;
            }
        }
        assertEquals(0xFFFFFFFFL, seen);
    }

    /**
     * The kernel against its twin, bit for bit, on random bytes and on the 16-bit limit: every value 0 (-32 after the
     * offset) against x at +-127, 8 products of 4064 in one lane (32512).
     */
    @Test
    void groupKernelAgainstItsScalarTwin() {
        if (!LANES16) return;
        Random r = new Random(SEED + 41);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : new int[]{256, 512, 768, 2048, 8192}) {
                for (int extreme = 0; extreme < 2; extreme++) {
                    int rows = 16 * (1 + r.nextInt(3)) - r.nextInt(8);
                    Weights w = randomQ6kRows(r, rows, cols);
                    float[] x = randomX(r, cols, 0);
                    if (extreme == 1) {
                        MemorySegment s = w.data();
                        for (int b = 0; b < rows * cols / 256; b++) {
                            s.asSlice(210L * b, 192).fill((byte) 0); // every value 0: -32
                            for (int j = 0; j < 16; j++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 210L * b + 192 + j, (byte) (j % 2 == 0 ? 127 : -128));
                        }
                        for (int i = 0; i < cols; i++) x[i] = (i / 256) % 2 == 0 ? 1f : -3f; // every x +-127 after rounding
                    }
                    Weights p = Q6kGroups.pack(w, arena);
                    assertEquals(Q6kGroups.bytes(rows, cols), p.packed().byteSize());
                    Q4kActivations a = new Q4kActivations().prepareGroups(x, 0, cols);
                    for (int g = 0; g < Q6kGroups.groups(rows); g++) {
                        float[] v = new float[16], s = new float[16];
                        long q = Q6kGroups.quants(g, cols), m = Q6kGroups.meta(g, rows, cols);
                        VectorKernels.dotQ6_KGroup(p.packed(), q, m, a.xq, a.xd, cols, v, 0);
                        ScalarKernels.dotQ6_KGroupQ8(p.packed(), q, m, a.xq, a.xd, cols, s, 0);
                        for (int i = 0; i < 16; i++) {
                            assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(v[i]), "group " + g + " row " + i
                                    + " cols=" + cols + (extreme == 1 ? " (16-bit limit)" : "") + ": " + s[i] + " against " + v[i] + " (seed " + SEED + ")");
                            if (g * 16 + i >= rows) assertEquals(0f, v[i], "padding rows are 0");
                        }
                    }
                }
            }
        }
    }

    /**
     * The grouped dotRows over random row ranges (cutting groups): each row equal to the exact sum of the file's values
     * times x rounded to 8 bits per block of 256, within the float rounding of the last steps, and within that rounding of
     * the float row kernel on the file's rows; only its range written; decoding and single rows still read the file.
     */
    @Test
    void groupedRowsAgainstTheExactSumWithRoundedX() {
        if (!LANES16) return;
        Random r = new Random(SEED + 42);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : new int[]{256, 512, 768, 1024, 2048, 2816, 8192}) {
                int rows = 1 + r.nextInt(40);
                Weights w = randomQ6kRows(r, rows, cols);
                Weights p = V.prepare(w, arena);
                assertEquals(Q6kGroups.bytes(rows, cols), p.packed().byteSize(), "the vector kernels pack Q6_K rows");
                float[] d1 = new float[rows * cols], d2 = new float[rows * cols];
                S.dequantizeRows(w, 0, rows, d1, 0);
                V.dequantizeRows(p, 0, rows, d2, 0);
                assertArrayEquals(d1, d2, "grouped Q6_K rows decode to the file's values");
                for (int t = 0; t < 4; t++) {
                    int xOff = r.nextInt(7);
                    float[] x = randomX(r, cols, xOff);
                    int from = r.nextInt(rows), to = from + 1 + r.nextInt(rows - from);
                    float[] out = KernelsTest.dotRowsInRange(p, from, to, x, xOff), xr = KernelsTest.rounded256(x, xOff, cols);
                    for (int row = from; row < to; row++) {
                        double mag = 0, bound = 0, expected = 0;
                        for (int i = 0; i < cols; i++) {
                            float wi = d1[row * cols + i];
                            expected += (double) wi * xr[i];
                            mag += Math.abs(wi * x[xOff + i]);
                            bound += Math.abs(wi) * KernelsTest.q8Step(x, xOff + i / 256 * 256) / 2;
                        }
                        KernelsTest.close(expected, out[1 + row - from], mag, "grouped Q6_K rows, x in 8 bits, cols=" + cols + " row " + row);
                        assertEquals(S.dotRow(w, row, x, xOff), out[1 + row - from], 1e-5 * mag + 1.0001 * bound + 1e-6,
                                "grouped Q6_K within the 8-bit x's rounding, cols=" + cols + " row " + row + " (seed " + SEED + ")");
                        KernelsTest.close(S.dotRow(w, row, x, xOff), V.dotRow(p, row, x, xOff), mag, "single rows read the file, cols=" + cols);
                    }
                }
            }
        }
    }

    @Test
    void packingIsChosenWhereItApplies() {
        try (Arena arena = Arena.ofShared()) {
            Weights w = new Weights("w", GgmlType.Q6_K, 40, 512, MemorySegment.ofArray(new byte[40 * 2 * 210]));
            assertNull(S.prepare(w, arena).packed(), "the scalar kernels read the file's rows");
            if (LANES16) {
                assertEquals(VectorKernels.Q6_GROUPS ? Q6kGroups.bytes(40, 512) : -1L,
                        V.prepare(w, arena).packed() == null ? -1L : V.prepare(w, arena).packed().byteSize());
            }
        }
    }
}
