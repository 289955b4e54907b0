package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API kernels against their scalar twins on random data of many sizes. Each test prints its seed; replay a
 * failure with -Dnq.kernels.seed=S.
 */
class KernelsTest {

    static final Kernels S = Kernels.scalar(), V = Kernels.vector();
    static final long SEED = Long.getLong("nq.kernels.seed", System.nanoTime());
    static final int[] SIZES = {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 172, 255, 256, 257, 512, 1000, 1408};

    static {
        System.out.println("KernelsTest seed " + SEED + " (" + V.name() + " vs " + S.name() + ")");
    }

    static float[] random(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** |a - b| within a tolerance relative to the sum of |terms| (float rounding of n additions in any order). */
    static void close(double expected, double got, double magnitude, String what) {
        assertEquals(expected, got, 1e-5 * magnitude + 1e-6, what + " (seed " + SEED + ")");
    }

    @Test
    void vectorKernelsAreInUse() {
        assertTrue(V.name().startsWith("vector"), "this CPU should have 256- or 512-bit vectors: " + V.name());
    }

    @Test
    void denseOps() {
        Random r = new Random(SEED);
        for (int n : SIZES) {
            int ao = r.nextInt(5), bo = r.nextInt(5);
            float[] a = random(r, n + ao, 1), b = random(r, n + bo, 1);
            double mag = 0;
            for (int i = 0; i < n; i++) mag += Math.abs(a[ao + i] * b[bo + i]);
            close(S.dot(a, ao, b, bo, n), V.dot(a, ao, b, bo, n), mag, "dot n=" + n);

            short[] h = new short[n + bo];
            for (int i = 0; i < h.length; i++) h[i] = Float.floatToFloat16(b[i]);
            close(S.dotF16(a, ao, h, bo, n), V.dotF16(a, ao, h, bo, n), mag, "dotF16 n=" + n);

            float alpha = (float) r.nextGaussian();
            float[] y1 = random(r, n, 1), y2 = y1.clone();
            S.axpy(alpha, a, ao, y1, 0, n);
            V.axpy(alpha, a, ao, y2, 0, n);
            for (int i = 0; i < n; i++) close(y1[i], y2[i], 10, "axpy n=" + n);
            S.axpyF16(alpha, h, bo, y1, 0, n);
            V.axpyF16(alpha, h, bo, y2, 0, n);
            for (int i = 0; i < n; i++) close(y1[i], y2[i], 10, "axpyF16 n=" + n);

            float[] e1 = random(r, n, 3), e2 = e1.clone();
            float max = 0;
            for (float v : e1) max = Math.max(max, v);
            double s1 = S.expShifted(e1, 0, n, max), s2 = V.expShifted(e2, 0, n, max);
            close(s1, s2, n, "expShifted sum n=" + n);
            for (int i = 0; i < n; i++) close(e1[i], e2[i], 1, "expShifted n=" + n);

            float[] g1 = random(r, n, 3), g2 = g1.clone(), u = random(r, n, 1);
            S.siluMul(g1, u, n);
            V.siluMul(g2, u, n);
            for (int i = 0; i < n; i++) close(g1[i], g2[i], 10, "siluMul n=" + n);
        }
    }

    @Test
    void halfConversionCoversEveryBitPattern() {
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] one = new float[65536];
        java.util.Arrays.fill(one, 1f);
        for (int i = 0; i + 16 <= all.length; i += 16) {
            float[] y = new float[16];
            V.axpyF16(1f, all, i, y, 0, 16);
            for (int j = 0; j < 16; j++) {
                float want = Float.float16ToFloat(all[i + j]);
                if (Float.isNaN(want)) assertTrue(Float.isNaN(y[j]), "NaN at " + (i + j));
                else assertEquals(want, y[j], 0f, "half 0x" + Integer.toHexString(i + j));
            }
        }
    }

    static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K};

    /**
     * The bytes of a Q8_0 matrix as a file holds them ([rows][cols / 32] blocks of a little-endian fp16 scale and 32
     * int8 quants): random quants (every byte value), scales Gaussian with one block in ten 150 times larger.
     */
    static byte[] randomQ8_0File(Random r, int rows, int cols) {
        byte[] file = new byte[rows * cols / 32 * 34];
        r.nextBytes(file);
        for (int b = 0; b < file.length; b += 34) {
            short h = Float.floatToFloat16((float) (r.nextGaussian() * (r.nextInt(10) == 0 ? 3 : 0.02)));
            file[b] = (byte) h;
            file[b + 1] = (byte) (h >> 8);
        }
        return file;
    }

    static Weights randomWeights(Random r, GgmlType type, int rows, int cols) {
        float[] w = random(r, rows * cols, 1);
        byte[] bytes = Quants.quantize(type, w);
        return new Weights("w", type, rows, cols, MemorySegment.ofArray(bytes));
    }

    @Test
    void weightRowsEveryType() {
        Random r = new Random(SEED + 1);
        for (GgmlType type : TYPES) {
            for (int cols : new int[]{256, 512, 768, 1024, 2816}) {
                if (type.blockSize == 1) cols += r.nextInt(3) * (r.nextBoolean() ? 1 : 7); // odd lengths too
                int rows = 1 + r.nextInt(6);
                Weights w = randomWeights(r, type, rows, cols);
                float[] x = random(r, cols + 3, 1);
                float[] d1 = new float[rows * cols], d2 = new float[rows * cols];
                S.dequantizeRows(w, 0, rows, d1, 0);
                V.dequantizeRows(w, 0, rows, d2, 0);
                for (int i = 0; i < d1.length; i++) assertEquals(d1[i], d2[i], 0f, type + " dequantize " + i + " (seed " + SEED + ")");
                for (int row = 0; row < rows; row++) {
                    double mag = 0;
                    for (int i = 0; i < cols; i++) mag += Math.abs(d1[row * cols + i] * x[3 + i]);
                    close(S.dotRow(w, row, x, 3), V.dotRow(w, row, x, 3), mag, type + " dotRow cols=" + cols);
                }
            }
        }
    }

    /**
     * Q4_K rows of random bytes (every 6-bit scale and min pattern, not only those the quantizer writes), with finite
     * d and dmin: the vector kernel unpacks the 12 scale bytes in int lanes, the scalar one byte by byte.
     */
    @Test
    void q4kRowsOfRandomBytes() {
        Random r = new Random(SEED + 2);
        for (int cols : new int[]{256, 512, 2048}) {
            int rows = 1 + r.nextInt(5);
            Weights w = randomQ4kRows(r, rows, cols);
            float[] x = random(r, cols + 5, 1);
            float[] d = new float[rows * cols];
            S.dequantizeRows(w, 0, rows, d, 0);
            for (int row = 0; row < rows; row++) {
                double mag = 0;
                for (int i = 0; i < cols; i++) mag += Math.abs(d[row * cols + i] * x[5 + i]);
                close(S.dotRow(w, row, x, 5), V.dotRow(w, row, x, 5), mag, "Q4_K random bytes dotRow cols=" + cols);
            }
        }
    }

    /** Q4_K rows of random bytes (every 6-bit scale/min pattern) with small finite fp16 d and dmin. */
    static Weights randomQ4kRows(Random r, int rows, int cols) {
        byte[] bytes = new byte[rows * cols / 256 * 144];
        r.nextBytes(bytes);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < bytes.length; b += 144) {
            bb.putShort(b, Float.floatToFloat16((float) (r.nextGaussian() * 0.01)));
            bb.putShort(b + 2, Float.floatToFloat16((float) (r.nextGaussian() * 0.01)));
        }
        return new Weights("w", GgmlType.Q4_K, rows, cols, MemorySegment.ofArray(bytes));
    }

    /**
     * The vector dotRows of {@code w} over a random row range against the scalar dotRow of {@code file} (the same rows
     * in the file's layout; {@code d}: their values [rows][cols] from {@code dOff}, for the tolerance), writing only its
     * range; with {@code rowToo} the vector dotRow of each row as well.
     */
    /**
     * Prefill panels of {@code grouped} (the vector kernels) against the scalar decode of {@code file}'s rows transposed:
     * bit-equal for every whole panel, the last partial one and a panel cut short at a random count, over stale contents.
     */
    private static void checkPanels(Random r, Weights file, Weights grouped, int rows, int cols, String what) {
        float[] scratch = new float[Kernels.PANEL * cols];
        for (int row = 0; row < rows; row += Kernels.PANEL) {
            for (int count : new int[]{Math.min(Kernels.PANEL, rows - row), 1 + r.nextInt(Math.min(Kernels.PANEL, rows - row))}) {
                float[] expected = new float[Kernels.PANEL * cols], got = random(r, Kernels.PANEL * cols, 1);
                S.panel(file, row, count, scratch, expected);
                V.panel(grouped, row, count, scratch, got);
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got, what + " panel cols=" + cols + " row " + row + " count " + count);
            }
        }
    }

    private static void checkDotRows(Random r, Weights w, Weights file, float[] d, int dOff, int rows, int cols,
                                     boolean rowToo, String what) {
        int xOff = r.nextInt(7);
        float[] x = random(r, cols + xOff, 1);
        int from = r.nextInt(rows), to = from + 1 + r.nextInt(rows - from);
        float[] out = new float[to - from + 2];
        out[0] = out[out.length - 1] = 42f;
        V.dotRows(w, from, to, x, xOff, out, 1);
        assertEquals(42f, out[0], "dotRows wrote before its range");
        assertEquals(42f, out[out.length - 1], "dotRows wrote after its range");
        for (int row = from; row < to; row++) {
            double mag = 0;
            for (int i = 0; i < cols; i++) mag += Math.abs(d[dOff + row * cols + i] * x[xOff + i]);
            close(S.dotRow(file, row, x, xOff), out[1 + row - from], mag, what + " dotRows cols=" + cols + " row " + row);
            if (rowToo) close(S.dotRow(file, row, x, xOff), V.dotRow(w, row, x, xOff), mag, what + " dotRow cols=" + cols);
        }
    }

    /** Q4_K rows of random bytes (every scale/min pattern) of many widths, the vector dotRows against the scalar dotRow. */
    @Test
    void q4kRowRangesAgainstScalarRows() {
        Random r = new Random(SEED + 5);
        for (int cols : new int[]{256, 512, 768, 2048, 8192}) {
            int rows = 1 + r.nextInt(9);
            Weights w = randomQ4kRows(r, rows, cols);
            float[] d = new float[rows * cols];
            S.dequantizeRows(w, 0, rows, d, 0);
            checkDotRows(r, w, w, d, 0, rows, cols, false, "Q4_K");
        }
    }

    /**
     * Q8_0 rows in groups of 16 ({@link Q8Groups}), blocks of very different scales, row counts that leave the last group
     * partly empty: the grouped dotRows over random sub-ranges (cut groups included) against the scalar dotRow on the
     * file's rows, writing only its range; decoding, single rows and prefill panels bit-equal to the scalar kernels on
     * the file's rows.
     */
    @Test
    void q8GroupedRowsAgainstScalarRows() {
        if (!V.name().equals("vector512")) return; // 16 lanes only
        Random r = new Random(SEED + 7);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int cols : new int[]{32, 64, 96, 512, 1280, 2048, 8192}) {
                int rows = 1 + r.nextInt(40);
                float[] v = random(r, rows * cols, 1);
                for (int i = 0; i < v.length; i += 97) v[i] *= 50; // blocks of very different scales
                Weights w = new Weights("w", GgmlType.Q8_0, rows, cols, MemorySegment.ofArray(Quants.quantize(GgmlType.Q8_0, v)));
                Weights p = Q8Groups.pack(w, arena);
                assertEquals(Q8Groups.bytes(rows, cols), p.packed().byteSize());
                float[] d1 = new float[rows * cols + 3], d2 = new float[rows * cols + 3];
                S.dequantizeRows(w, 0, rows, d1, 3);
                V.dequantizeRows(p, 0, rows, d2, 3);
                org.junit.jupiter.api.Assertions.assertArrayEquals(d1, d2, "grouped Q8_0 rows decode to the file's values, cols=" + cols);
                for (int t = 0; t < 4; t++) {
                    int xOff = r.nextInt(7);
                    float[] x = random(r, cols + xOff, 1);
                    for (int i = xOff; i < x.length; i += 29) x[i] *= 40; // blocks of very different ranges
                    if (cols >= 64) java.util.Arrays.fill(x, xOff + 32, xOff + 64, 0f); // a block of zeros
                    int from = r.nextInt(rows), to = from + 1 + r.nextInt(rows - from);
                    float[] out = new float[to - from + 2];
                    out[0] = out[out.length - 1] = 42f;
                    V.dotRows(p, from, to, x, xOff, out, 1);
                    assertEquals(42f, out[0], "dotRows wrote before its range");
                    assertEquals(42f, out[out.length - 1], "dotRows wrote after its range");
                    float[] xr = q8Rounded(x, xOff, cols);
                    for (int row = from; row < to; row++) {
                        // the weights meet x rounded to a multiple of its 32-block's step
                        double mag = 0, bound = 0, expected = 0;
                        for (int i = 0; i < cols; i++) {
                            float wi = d1[3 + row * cols + i];
                            expected += (double) wi * xr[i];
                            mag += Math.abs(wi * x[xOff + i]);
                            bound += Math.abs(wi) * amax(x, xOff + i / 32 * 32, 32) / 127 / 2;
                        }
                        String what = "grouped Q8_0 dotRows, x in 8 bits: " + VectorKernels.Q8_ACTS + ", cols=" + cols + " row " + row;
                        if (VectorKernels.Q8_ACTS) {
                            close(expected, out[1 + row - from], mag, what);
                            assertEquals(S.dotRow(w, row, x, xOff), out[1 + row - from], 1e-5 * mag + 1.0001 * bound + 1e-6,
                                    what + " within the 8-bit x's rounding (seed " + SEED + ")");
                        } else {
                            close(S.dotRow(w, row, x, xOff), out[1 + row - from], mag, what);
                        }
                    }
                    if (t == 0) {
                        for (int row = from; row < to; row++) {
                            double mag = 0;
                            for (int i = 0; i < cols; i++) mag += Math.abs(d1[3 + row * cols + i] * x[xOff + i]);
                            close(S.dotRow(w, row, x, xOff), V.dotRow(p, row, x, xOff), mag, "grouped Q8_0 dotRow (file's row, float x) cols=" + cols);
                        }
                    }
                }
                checkPanels(r, w, p, rows, cols, "grouped Q8_0");
            }
        }
    }

    /**
     * Q4_K rows in groups of 16 ({@link Q4kGroups}, one row per lane), of random bytes (every 6-bit scale and min
     * pattern), row counts that leave the last group partly empty: the grouped dotRows matches the scalar dotRow on the
     * file's rows over random sub-ranges (ranges that cut groups included), writing only its range; decoding and single
     * rows still read the file's rows (bit-equal to the scalar decode).
     */
    @Test
    void q4kGroupedRowsAgainstScalarRows() {
        if (!V.name().equals("vector512")) return; // 16 lanes only
        Random r = new Random(SEED + 10);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int cols : new int[]{256, 512, 768, 2048, 2816, 8192}) {
                int rows = 1 + r.nextInt(40);
                Weights w = randomQ4kRows(r, rows, cols);
                Weights p = Q4kGroups.pack(w, arena);
                assertEquals(Q4kGroups.bytes(rows, cols), p.packed().byteSize());
                float[] d1 = new float[rows * cols + 3], d2 = new float[rows * cols + 3];
                S.dequantizeRows(w, 0, rows, d1, 3);
                V.dequantizeRows(p, 0, rows, d2, 3);
                org.junit.jupiter.api.Assertions.assertArrayEquals(d1, d2, "grouped Q4_K rows decode to the file's values, cols=" + cols);
                float[] scaled = scaledQ4k(w); // d * scale * q of every value: the magnitude of the sums
                for (int t = 0; t < 4; t++) {
                    int xOff = r.nextInt(7);
                    float[] x = random(r, cols + xOff, 1);
                    for (int i = xOff; i < x.length; i += 61) x[i] *= 40; // blocks of very different ranges
                    if (cols >= 512) java.util.Arrays.fill(x, xOff + 256, xOff + 512, 0f); // a block of zeros
                    int from = r.nextInt(rows), to = from + 1 + r.nextInt(rows - from);
                    float[] out = dotRowsInRange(p, from, to, x, xOff);
                    float[] xr = rounded256(x, xOff, cols);
                    for (int row = from; row < to; row++) {
                        // the weights meet x rounded to a multiple of its block's step (the mins' part too)
                        double mag = 0, bound = 0, expected = 0;
                        for (int i = 0; i < cols; i++) {
                            float sc = scaled[row * cols + i], wi = d1[3 + row * cols + i], xi = x[xOff + i];
                            expected += (double) wi * xr[i];
                            mag += Math.abs(wi * xi) + Math.abs(sc * xi);
                            bound += Math.abs(wi) * q8Step(x, xOff + i / 256 * 256) / 2;
                        }
                        close(expected, out[1 + row - from], mag, "grouped Q4_K rows, x in 8 bits, cols=" + cols + " row " + row);
                        assertEquals(S.dotRow(w, row, x, xOff), out[1 + row - from], 1e-5 * mag + 1.0001 * bound + 1e-6,
                                "grouped Q4_K rows within the 8-bit x's rounding, cols=" + cols + " row " + row + " (seed " + SEED + ")");
                    }
                }
            }
        }
    }

    /** The values of Q4_K rows without their mins ({@code d * scale * q}): the rows with every dmin set to 0, decoded. */
    static float[] scaledQ4k(Weights w) {
        byte[] b = w.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        for (int at = 0; at < b.length; at += 144) b[at + 2] = b[at + 3] = 0;
        float[] v = new float[w.rows() * w.cols()];
        S.dequantizeRows(new Weights("w", GgmlType.Q4_K, w.rows(), w.cols(), MemorySegment.ofArray(b)), 0, w.rows(), v, 0);
        return v;
    }

    /** The step of the 8-bit activations of the block of 256 at {@code x[at ..]}: max |x| / 127. */
    static float q8Step(float[] x, int at) {
        return amax(x, at) / 127;
    }

    static float amax(float[] x, int at) {
        return amax(x, at, 256);
    }

    static float amax(float[] x, int at, int n) {
        float amax = 0;
        for (int i = 0; i < n; i++) amax = Math.max(amax, Math.abs(x[at + i]));
        return amax;
    }

    /**
     * {@code V.dotRows} of {@code p}'s rows {@code from .. to - 1} into {@code out[1 .. to - from]} of an array one longer
     * on each side, asserting that it wrote nothing around its range: row {@code r}'s product is {@code out[1 + r - from]}.
     */
    static float[] dotRowsInRange(Weights p, int from, int to, float[] x, int xOff) {
        float[] out = new float[to - from + 2];
        out[0] = out[out.length - 1] = 42f;
        V.dotRows(p, from, to, x, xOff, out, 1);
        assertEquals(42f, out[0], "dotRows wrote before its range");
        assertEquals(42f, out[out.length - 1], "dotRows wrote after its range");
        return out;
    }

    /**
     * x[xOff .. xOff + cols) rounded as the k-quant kernels' 8-bit activations ({@link Q4kActivations#prepareGroups}): per
     * block of 256, the nearest multiple of {@link #q8Step}, within +-127 steps.
     */
    static float[] rounded256(float[] x, int xOff, int cols) {
        float[] xr = new float[cols];
        for (int i = 0; i < cols; i++) {
            float amax = amax(x, xOff + i / 256 * 256);
            xr[i] = amax == 0 ? 0 : Math.max(-127, Math.min(127, Math.round(x[xOff + i] * (127 / amax)))) * (amax / 127);
        }
        return xr;
    }

    /** x[xOff .. xOff + cols) rounded as Q8_0 activations: per block of 32, the nearest multiple of max |x| / 127. */
    static float[] q8Rounded(float[] x, int xOff, int cols) {
        float[] xr = new float[cols];
        for (int i = 0; i < cols; i++) {
            float amax = amax(x, xOff + i / 32 * 32, 32);
            xr[i] = amax == 0 ? 0 : (float) Math.rint(x[xOff + i] * (127 / amax)) * (amax / 127);
        }
        return xr;
    }

    /**
     * The grouped Q8_0 kernel on integer lanes (x in 8 bits per block of 32) against its scalar twin, bit for bit, and
     * against the exact sum with the rounded x: random weights with every byte value (-128 included), x with blocks of
     * very different ranges, a block of zeros, and weights and x at their extremes (the 16-bit pair sums' limit).
     */
    @Test
    void q8GroupKernelOnIntegerLanesAgainstItsScalarTwin() {
        if (!V.name().equals("vector512")) return; // 16 lanes only
        Random r = new Random(SEED + 14);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int cols : new int[]{32, 64, 96, 512, 2048, 8192}) {
                int rows = 16 * (1 + r.nextInt(3)) - r.nextInt(8);
                byte[] file = randomQ8_0File(r, rows, cols);
                if (cols >= 64) java.util.Arrays.fill(file, 2, 34, (byte) -128); // row 0's first block: -128 everywhere
                Weights w = new Weights("w", GgmlType.Q8_0, rows, cols, MemorySegment.ofArray(file));
                Weights p = Q8Groups.pack(w, arena);
                float[] x = random(r, cols, 1);
                for (int i = 0; i < cols; i += 37) x[i] *= r.nextBoolean() ? 100 : 0.01f;
                if (cols >= 64) java.util.Arrays.fill(x, 32, 64, 0f);
                java.util.Arrays.fill(x, 0, 32, -1f); // meets the -128s: 32 products of -128 * -127
                if (cols >= 96) { // a block of step 1 with ties: they go to even, in the rounding and its twin
                    x[64] = 127f;
                    float[] ties = {0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 126.5f};
                    System.arraycopy(ties, 0, x, 65, ties.length);
                }
                float[] d = new float[rows * cols], xr = q8Rounded(x, 0, cols);
                S.dequantizeRows(w, 0, rows, d, 0);
                Q8Activations a = new Q8Activations().prepare(x, 0, cols);
                for (int i = 0; i < cols; i++) {
                    assertTrue(a.value(i) >= -127 && a.value(i) <= 127, "8 bits: " + a.value(i));
                    assertEquals(xr[i], a.value(i) * a.xd[i / 32], 0f, "8-bit x, column " + i);
                }
                int[] sq = new int[cols / 2];
                float[] sd = new float[cols / 32];
                ScalarKernels.quantizeQ8_0(x, 0, cols, sq, sd);
                org.junit.jupiter.api.Assertions.assertArrayEquals(sq, java.util.Arrays.copyOf(a.xq, cols / 2), "8-bit x against the scalar twin");
                org.junit.jupiter.api.Assertions.assertArrayEquals(sd, java.util.Arrays.copyOf(a.xd, cols / 32), "steps against the scalar twin");
                for (int g = 0; g < Q8Groups.groups(rows); g++) {
                    float[] v = new float[16], s = new float[16];
                    long q = Q8Groups.quants(g, cols), sc = Q8Groups.scales(g, cols);
                    VectorKernels.dotQ8_0GroupQ8(p.packed(), q, sc, a.xq, a.xd, cols, v, 0);
                    ScalarKernels.dotQ8_0GroupQ8(p.packed(), q, sc, a.xq, a.xd, cols, s, 0);
                    for (int i = 0; i < 16; i++) {
                        assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(v[i]),
                                "group " + g + " row " + i + " cols=" + cols + ": " + s[i] + " against " + v[i] + " (seed " + SEED + ")");
                        int row = 16 * g + i;
                        if (row >= rows) {
                            assertEquals(0f, v[i], "padding row");
                            continue;
                        }
                        double expected = 0, mag = 0;
                        for (int c = 0; c < cols; c++) {
                            expected += (double) d[row * cols + c] * xr[c];
                            mag += Math.abs((double) d[row * cols + c] * xr[c]);
                        }
                        close(expected, v[i], mag, "grouped Q8_0 on integer lanes, group " + g + " row " + i + " cols=" + cols);
                    }
                }
            }
        }
    }

    /**
     * The grouped Q4_K kernel (x in 8 bits, products in 16-bit lanes) against its scalar twin, bit for bit: random bytes
     * (every nibble, scale and min), x with blocks of very different ranges, a block of zeros, and values at the edge of
     * rounding; the sums that stay within 16 bits are exact in both.
     */
    @Test
    void q4kGroupKernelAgainstItsScalarTwin() {
        if (!V.name().equals("vector512")) return; // 16 lanes only
        Random r = new Random(SEED + 12);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int cols : new int[]{256, 512, 2048, 8192}) {
                int rows = 16 * (1 + r.nextInt(3)) - r.nextInt(8);
                Weights p = Q4kGroups.pack(randomQ4kRows(r, rows, cols), arena);
                float[] x = random(r, cols, 1);
                for (int i = 0; i < cols; i += 37) x[i] *= r.nextBoolean() ? 100 : 0.01f;
                if (cols >= 512) java.util.Arrays.fill(x, 256, 512, 0f);
                x[r.nextInt(cols)] = 127.5f / 127 * q8Step(x, 0) * 127; // a value that rounds to the edge
                Q4kActivations a = new Q4kActivations().prepareGroups(x, 0, cols);
                for (int g = 0; g < Q4kGroups.groups(rows); g++) {
                    float[] v = new float[16], s = new float[16];
                    long q = Q4kGroups.quants(g, cols), m = Q4kGroups.meta(g, rows, cols);
                    VectorKernels.dotQ4_KGroup(p.packed(), q, m, a.xq, a.xd, cols, v, 0);
                    ScalarKernels.dotQ4_KGroupQ8(p.packed(), q, m, a.xq, a.xd, cols, s, 0);
                    for (int i = 0; i < 16; i++) {
                        assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(v[i]),
                                "group " + g + " row " + i + " cols=" + cols + ": " + s[i] + " against " + v[i] + " (seed " + SEED + ")");
                    }
                }
            }
        }
    }

    /** 8-bit activations: within -127..127, the block's step max |x| / 127, and each value the nearest multiple of it. */
    @Test
    void q4kActivationsInEightBits() {
        Random r = new Random(SEED + 13);
        int cols = 1024;
        float[] x = random(r, cols, 1);
        for (int i = 0; i < cols; i += 13) x[i] *= 30;
        java.util.Arrays.fill(x, 512, 768, 0f);
        Q4kActivations a = new Q4kActivations().prepareGroups(x, 0, cols);
        for (int b = 0; b < cols / 256; b++) {
            assertEquals(q8Step(x, 256 * b), a.xd[b], 0f, "block " + b);
            for (int ch = 0; ch < 32; ch++) {
                for (int k = 0; k < 8; k++) {
                    int pair = a.xq[128 * b + 4 * ch + k % 4], v = k < 4 ? (short) pair : pair >> 16;
                    float xi = x[256 * b + Q4kGroups.column(ch, k)];
                    assertTrue(v >= -127 && v <= 127, "8 bits: " + v);
                    assertEquals(xi, v * a.xd[b], a.xd[b] * 0.5f * 1.0001f + 1e-30f, "block " + b + " chunk " + ch + " nibble " + k);
                }
            }
        }
    }

    /**
     * Prefill panels decoded straight from grouped Q4_K rows: bit-equal to the scalar decode of the file's rows
     * transposed ({@link Kernels#panel}'s default), for whole panels, the matrix's last partial panel and panels cut
     * short (rows past {@code count} zero), over stale panel contents.
     */
    @Test
    void q4kGroupedPanelsAgainstScalar() {
        if (!V.name().equals("vector512")) return; // 16 lanes only
        Random r = new Random(SEED + 11);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            for (int cols : new int[]{256, 768, 2048}) {
                int rows = 1 + r.nextInt(80);
                Weights w = randomQ4kRows(r, rows, cols);
                Weights p = Q4kGroups.pack(w, arena);
                checkPanels(r, w, p, rows, cols, "grouped Q4_K");
            }
        }
    }

    @Test
    void q4kGroupColumnsArePermutation() {
        boolean[] seen = new boolean[256];
        for (int ch = 0; ch < 32; ch++) {
            for (int k = 0; k < 8; k++) {
                int v = Q4kGroups.column(ch, k);
                assertTrue(v >= 0 && v < 256 && !seen[v], "column " + v + " twice or out of the block");
                seen[v] = true;
            }
        }
    }

    @Test
    void q4kPackingIsChosenWhereItApplies() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            Weights big = new Weights("w", GgmlType.Q4_K, 1024, 1024, MemorySegment.ofArray(new byte[1024 * 4 * 144]));
            Weights small = new Weights("w", GgmlType.Q4_K, 3, 256, MemorySegment.ofArray(new byte[3 * 144]));
            assertTrue(S.prepare(big, arena).packed() == null, "the scalar kernels read the file's rows");
            if (V.name().equals("vector512")) {
                assertEquals(Q4kGroups.bytes(3, 256), V.prepare(small, arena).packed().byteSize(), "small matrices are packed too");
                Weights p = V.prepare(big, arena);
                assertTrue(p.packed() != null, "16 lanes pack Q4_K rows");
                assertEquals(Q4kGroups.bytes(1024, 1024), p.packed().byteSize());
            }
        }
    }

    @Test
    void q8PackingIsChosenWhereItApplies() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) { // packing spreads over threads
            Weights odd = new Weights("w", GgmlType.Q8_0, 1024, 1056, MemorySegment.ofArray(new byte[1024 * 33 * 34]));
            Weights small = new Weights("w", GgmlType.Q8_0, 3, 64, MemorySegment.ofArray(new byte[3 * 2 * 34]));
            Weights f16 = new Weights("w", GgmlType.F16, 1024, 1024, MemorySegment.ofArray(new byte[1024 * 1024 * 2]));
            assertTrue(S.prepare(odd, arena).packed() == null, "the scalar kernels read the file's rows");
            assertTrue(S.prepare(f16, arena).packed() == null, "the scalar kernels read F16 rows as they are");
            if (V.name().equals("vector512")) {
                assertEquals(Q8Groups.bytes(3, 64), V.prepare(small, arena).packed().byteSize(), "small matrices are packed too");
                Weights p = V.prepare(odd, arena);
                assertTrue(p.packed() != null, "16 lanes pack Q8_0 rows, also of an odd number of blocks");
                assertEquals(Q8Groups.bytes(1024, 1056), p.packed().byteSize());
            }
        }
    }

    /** Random fp16 bits of every kind a finite matrix can hold: normal, subnormal, zeros of both signs, the largest. */
    private static short randomFiniteHalf(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> (short) (r.nextInt(0x400) | (r.nextBoolean() ? 0x8000 : 0)); // subnormal or zero
            case 1 -> (short) (r.nextBoolean() ? 0x7BFF : 0xFBFF); // +-65504
            case 2 -> (short) (r.nextBoolean() ? 0 : 0x8000);
            default -> Float.floatToFloat16((float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 4)));
        };
    }

    /**
     * fp16 rows marked finite at load run a kernel that reads each half scaled by 2^-112 against x scaled by 2^112: bit
     * for bit the full conversion's sums (also where x cannot be scaled and it falls back), and close to the scalar
     * definition; matrices with an infinity or NaN anywhere are not marked.
     */
    @Test
    void f16FiniteRowsAgainstFullConversion() {
        Random r = new Random(SEED + 11);
        for (int cols : new int[]{1, 15, 16, 17, 31, 32, 33, 48, 64, 100, 512, 513, 1408, 2048}) {
            int rows = 1 + r.nextInt(20);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(2 * rows * cols).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < rows * cols; i++) b.putShort(randomFiniteHalf(r));
            Weights w = new Weights("w", GgmlType.F16, rows, cols, MemorySegment.ofArray(b.array()));
            Weights marked = V.prepare(w, java.lang.foreign.Arena.global());
            if (!V.name().equals("vector512")) return;
            assertTrue(marked.packed() != null, "a finite fp16 matrix is marked, cols " + cols);
            for (int trial = 0; trial < 3; trial++) {
                float[] x = random(r, cols + 5, trial == 0 ? 1 : 1000);
                if (trial == 2) x[5 + r.nextInt(cols)] = r.nextBoolean() ? 65536f : -70000f; // x * 2^112 would overflow: fallback
                if (trial == 1) x[5 + r.nextInt(cols)] = 1e-40f; // subnormal x: scaled exactly
                float[] out = new float[rows];
                V.dotRows(marked, 0, rows, x, 5, out, 0);
                float[] d = new float[rows * cols];
                S.dequantizeRows(w, 0, rows, d, 0);
                for (int row = 0; row < rows; row++) {
                    float full = V.dotRow(w, row, x, 5);
                    assertEquals(Float.floatToRawIntBits(full), Float.floatToRawIntBits(out[row]),
                            "cols " + cols + " row " + row + " trial " + trial + ": " + full + " vs " + out[row] + " (seed " + SEED + ")");
                    double mag = 0;
                    for (int i = 0; i < cols; i++) mag += Math.abs(d[row * cols + i] * x[5 + i]);
                    close(S.dotRow(w, row, x, 5), out[row], mag, "f16 finite cols=" + cols);
                }
            }
            // an infinity or NaN at any place, also in the tail past the last 8 bytes: not marked
            for (short bad : new short[]{(short) 0x7C00, (short) 0xFC00, (short) 0x7E00, (short) 0xFFFF}) {
                byte[] copy = b.array().clone();
                int at = r.nextInt(rows * cols);
                copy[2 * at] = (byte) bad;
                copy[2 * at + 1] = (byte) (bad >> 8);
                Weights withBad = new Weights("w", GgmlType.F16, rows, cols, MemorySegment.ofArray(copy));
                assertTrue(V.prepare(withBad, java.lang.foreign.Arena.global()).packed() == null,
                        "0x" + Integer.toHexString(bad & 0xFFFF) + " at " + at + " of " + rows * cols);
                assertTrue(!HalfRows.finite(MemorySegment.ofArray(copy)));
            }
        }
    }

    /** {@code sum16} (the fp16 rows' lane sum as scalars) against {@link Lanes#sum}, bit for bit, on random lanes of any sign and size. */
    @Test
    void scalarLaneSumEqualsTheVectorTree() {
        if (VectorKernels.F.length() != 16) return;
        Random r = new Random(SEED + 12);
        float[] v = new float[16];
        for (int trial = 0; trial < 2000; trial++) {
            for (int i = 0; i < 16; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(12) - 6));
            if (trial % 7 == 0) v[r.nextInt(16)] = -v[r.nextInt(16)] * 1e7f; // cancellation
            float vector = Lanes.sum(jdk.incubator.vector.FloatVector.fromArray(VectorKernels.F, v, 0));
            assertEquals(Float.floatToRawIntBits(vector), Float.floatToRawIntBits(VectorKernels.sum16(v)), "trial " + trial + " (seed " + SEED + ")");
        }
    }

    @Test
    void q4kActivationOrderIsAPermutation() {
        boolean[] seen = new boolean[256];
        for (int v : Q4kActivations.ORDER) {
            assertTrue(v >= 0 && v < 256 && !seen[v], "value " + v + " twice or out of the block");
            seen[v] = true;
        }
    }

    /** The default dotRows (row by row) for the other types, as Linear calls it at decode. */
    @Test
    void rowRangesOfEveryType() {
        Random r = new Random(SEED + 6);
        for (GgmlType t : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q6_K, GgmlType.Q4_K}) {
            int cols = 256 * (1 + r.nextInt(4)), rows = 1 + r.nextInt(6);
            float[] v = random(r, rows * cols, 1);
            Weights w = new Weights("w", t, rows, cols, MemorySegment.ofArray(Quants.quantize(t, v)));
            float[] x = random(r, cols, 1), d = new float[rows * cols];
            S.dequantizeRows(w, 0, rows, d, 0);
            float[] out = new float[rows];
            V.dotRows(w, 0, rows, x, 0, out, 0);
            for (int row = 0; row < rows; row++) {
                double mag = 0;
                for (int i = 0; i < cols; i++) mag += Math.abs(d[row * cols + i] * x[i]);
                close(S.dotRow(w, row, x, 0), out[row], mag, t + " dotRows row " + row);
            }
        }
    }

    /** The transposition into a panel is data movement: the vector form (gathers) equals the scalar loop bit for bit. */
    @Test
    void toPanelAgainstScalar() {
        Random r = new Random(SEED + 10);
        for (int cols : new int[]{1, 3, 64, 100, 512, 2048}) {
            for (int count : new int[]{1, 15, 16, 17, Kernels.PANEL - 1, Kernels.PANEL}) {
                float[] rows = random(r, Kernels.PANEL * cols, 1);
                float[] p1 = random(r, cols * Kernels.PANEL, 1), p2 = random(r, cols * Kernels.PANEL, 1); // stale contents
                S.toPanel(rows, count, cols, p1);
                V.toPanel(rows, count, cols, p2);
                org.junit.jupiter.api.Assertions.assertArrayEquals(p1, p2, "toPanel count=" + count + " cols=" + cols);
                for (int c = 0; c < cols; c++) {
                    for (int i = 0; i < Kernels.PANEL; i++) {
                        assertEquals(i < count ? rows[i * cols + c] : 0f, p1[c * Kernels.PANEL + i], "panel[" + c + "][" + i + "]");
                    }
                }
            }
        }
    }

    /**
     * The attention kernels on whole vectors of tokens and of the head (the widest unrolled paths: 4 vectors of tokens
     * for 1 and 2 query rows, 4 vectors of the head in the weighted sum), against the scalar twin; the key stride leaves
     * a gap that must not be read as a token.
     */
    @Test
    void attentionKernelsOnWholeVectors() {
        Random r = new Random(SEED + 11);
        for (int hd : new int[]{64, 128, 256}) {
            for (int rows = 1; rows <= 4; rows++) {
                for (int tokens : new int[]{16, 48, 64, 80, 128, 144, 256}) {
                    int ktStride = tokens + 16;
                    float[] q = random(r, rows * hd + 3, 1), kt = random(r, hd * ktStride, 1), v = random(r, tokens * hd, 1);
                    float[] s1 = new float[4 * 300], s2 = new float[4 * 300];
                    S.scores(q, 3, hd, rows, hd, kt, 0, ktStride, tokens, 0.09f, s1, 0, 300);
                    V.scores(q, 3, hd, rows, hd, kt, 0, ktStride, tokens, 0.09f, s2, 0, 300);
                    for (int i = 0; i < s1.length; i++) close(s1[i], s2[i], Math.sqrt(hd), "scores hd=" + hd + " rows=" + rows + " tokens=" + tokens);
                    float[] p = random(r, 4 * 300, 0.1);
                    float[] o1 = random(r, rows * hd + 5, 1), o2 = o1.clone();
                    S.weightedSum(p, 2, 300, rows, v, 0, tokens, hd, o1, 5, hd);
                    V.weightedSum(p, 2, 300, rows, v, 0, tokens, hd, o2, 5, hd);
                    for (int i = 0; i < o1.length; i++) close(o1[i], o2[i], Math.sqrt(tokens), "weightedSum hd=" + hd + " rows=" + rows + " tokens=" + tokens);
                }
            }
        }
    }

    @Test
    void panelsAndAttentionKernels() {
        Random r = new Random(SEED + 3);
        for (int cols : new int[]{1, 7, 64, 100, 512}) {
            for (int rows : new int[]{1, 5, 15, 16, 17, 31, Kernels.PANEL}) {
                int tokens = 1 + r.nextInt(30); // 8-token steps and the tokens left over
                float[] panel = random(r, cols * Kernels.PANEL, 1), x = random(r, tokens * cols + 3, 1);
                int stride = rows + 3; // gaps between the tokens' outputs must stay untouched (0 in both)
                float[] o1 = new float[tokens * stride + 2], o2 = new float[tokens * stride + 2];
                S.gemmPanel(panel, cols, rows, x, 3, tokens, o1, 2, stride);
                V.gemmPanel(panel, cols, rows, x, 3, tokens, o2, 2, stride);
                for (int i = 0; i < o1.length; i++) close(o1[i], o2[i], Math.sqrt(cols) * 4, "gemmPanel " + rows + "x" + tokens + "x" + cols);
            }
        }
        for (int hd : new int[]{8, 12, 64, 128}) {
            for (int rows = 1; rows <= 4; rows++) {
                int tokens = 1 + r.nextInt(300), ktStride = tokens + r.nextInt(9);
                float[] q = random(r, rows * hd * 2, 1), kt = random(r, hd * ktStride, 1), v = random(r, tokens * hd, 1);
                short[] kth = new short[kt.length], vh = new short[v.length];
                for (int i = 0; i < kt.length; i++) kth[i] = Float.floatToFloat16(kt[i]);
                for (int i = 0; i < v.length; i++) vh[i] = Float.floatToFloat16(v[i]);
                float[] s1 = new float[4 * 310], s2 = new float[4 * 310];
                S.scores(q, 1, hd, rows, hd, kt, 0, ktStride, tokens, 0.125f, s1, 0, 310);
                V.scores(q, 1, hd, rows, hd, kt, 0, ktStride, tokens, 0.125f, s2, 0, 310);
                for (int i = 0; i < s1.length; i++) close(s1[i], s2[i], Math.sqrt(hd), "scores hd=" + hd + " rows=" + rows);
                S.scoresF16(q, 0, hd, rows, hd, kth, 0, ktStride, tokens, 0.125f, s1, 0, 310);
                V.scoresF16(q, 0, hd, rows, hd, kth, 0, ktStride, tokens, 0.125f, s2, 0, 310);
                for (int i = 0; i < s1.length; i++) close(s1[i], s2[i], Math.sqrt(hd), "scoresF16 hd=" + hd + " rows=" + rows);
                float[] p = random(r, 4 * 310, 0.1);
                float[] o1 = random(r, rows * hd + 5, 1), o2 = o1.clone();
                S.weightedSum(p, 2, 310, rows, v, 0, tokens, hd, o1, 5, hd);
                V.weightedSum(p, 2, 310, rows, v, 0, tokens, hd, o2, 5, hd);
                for (int i = 0; i < o1.length; i++) close(o1[i], o2[i], Math.sqrt(tokens), "weightedSum hd=" + hd + " rows=" + rows);
                S.weightedSumF16(p, 2, 310, rows, vh, 0, tokens, hd, o1, 5, hd);
                V.weightedSumF16(p, 2, 310, rows, vh, 0, tokens, hd, o2, 5, hd);
                for (int i = 0; i < o1.length; i++) close(o1[i], o2[i], Math.sqrt(tokens), "weightedSumF16 hd=" + hd + " rows=" + rows);
            }
        }
    }

    @Test
    void gemmTileAndLinear() {
        Random r = new Random(SEED + 2);
        for (int cols : new int[]{8, 17, 64, 100, 512}) {
            for (int rows = 1; rows <= 4; rows++) {
                int tokens = 1 + r.nextInt(11);
                float[] a = random(r, rows * cols, 1), x = random(r, tokens * cols + 5, 1);
                float[] o1 = new float[tokens * 9 + 4], o2 = new float[tokens * 9 + 4];
                S.gemmTile(a, rows, cols, x, 5, tokens, o1, 4, 9);
                V.gemmTile(a, rows, cols, x, 5, tokens, o2, 4, 9);
                for (int i = 0; i < o1.length; i++) close(o1[i], o2[i], Math.sqrt(cols) * 4, "gemmTile " + rows + "x" + tokens + "x" + cols);
            }
        }
        for (GgmlType type : TYPES) {
            int cols = 256 * (1 + r.nextInt(3)), rows = 4 + r.nextInt(70), n = 1 + r.nextInt(150);
            Weights w = randomWeights(r, type, rows, cols);
            float[] x = random(r, n * cols, 1);
            float[] naive = new float[n * rows], got = new float[n * rows], gotS = new float[n * rows];
            for (int t = 0; t < n; t++) for (int row = 0; row < rows; row++) naive[t * rows + row] = S.dotRow(w, row, x, t * cols);
            Linear.apply(V, w, x, 0, n, got, 0);
            Linear.apply(S, w, x, 0, n, gotS, 0);
            for (int i = 0; i < naive.length; i++) {
                close(naive[i], got[i], Math.sqrt(cols) * 4, type + " Linear vector n=" + n);
                close(naive[i], gotS[i], Math.sqrt(cols) * 4, type + " Linear scalar n=" + n);
            }
        }
    }
}
