package dev.nexusquant.engine.tensor;

/**
 * The activations of a grouped Q8_0 matrix-vector product ({@link VectorKernels#dotQ8_0GroupQ8}), rounded once for all
 * rows to 8 bits per block of 32 values, as llama.cpp's Q8_0 activations: step {@code max |x| / 127}, values
 * {@code round(x / step)} in -127..127. Two values per int, in the order the kernel's 16-bit lanes meet them: a 64-byte
 * load of {@link Q8Groups} holds 4 columns {@code 4k .. 4k + 3} of 16 rows, read as 32 shorts the low bytes are
 * columns {@code 4k} (even lanes) and {@code 4k + 2} (odd lanes), the high bytes {@code 4k + 1} and {@code 4k + 3}.
 * Per-thread scratch, reused by the next product on the same thread.
 */
final class Q8Activations {

    /**
     * [cols / 2]: int {@code 2k} holds the 8-bit value of column {@code 4k} in its low 16 bits and that of
     * {@code 4k + 2} in its high 16 bits; int {@code 2k + 1} columns {@code 4k + 1} and {@code 4k + 3}.
     */
    int[] xq = new int[0];
    /** [cols / 32]: the step of each block's 8-bit values, {@code max |x| / 127} (0 for a block of zeros). */
    float[] xd = new float[0];

    /** Rounds {@code x[xOff .. xOff + cols)} ({@code cols} a multiple of 32) into {@link #xq} and {@link #xd}. */
    Q8Activations prepare(float[] x, int xOff, int cols) {
        if (xq.length < cols / 2) {
            xq = new int[cols / 2];
            xd = new float[cols / 32];
        }
        for (int c = 0; c < cols; c += 32) {
            int base = xOff + c;
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[base + i]));
            float inv = amax == 0 ? 0 : 127 / amax;
            xd[c / 32] = amax / 127;
            for (int k = 0; k < 32; k += 4) {
                // |x| * 127 / amax <= 127, clamped against the product's rounding
                int a = round(x[base + k], inv), b = round(x[base + k + 1], inv), e = round(x[base + k + 2], inv), f = round(x[base + k + 3], inv);
                xq[(c + k) / 2] = e << 16 | (a & 0xFFFF);
                xq[(c + k) / 2 + 1] = f << 16 | (b & 0xFFFF);
            }
        }
        return this;
    }

    private static int round(float v, float inv) {
        return Math.max(-127, Math.min(127, Math.round(v * inv)));
    }

    /** The 8-bit value of column {@code col} (the order of {@link #xq} undone). */
    int value(int col) {
        int pair = xq[col / 4 * 2 + col % 2];
        return col % 4 < 2 ? (short) pair : pair >> 16;
    }
}
