package dev.nexusquant.engine.tensor;

/**
 * The activations of a Q4_K matrix-vector product, rearranged once for all rows, for the two 16-lane kernels: the
 * grouped one ({@link VectorKernels#dotQ4_KGroup}, {@link #prepareGroups}: {@link #xq}, {@link #xd}, {@link #st}) and the one on the
 * file's rows ({@link VectorKernels#dotQ4_KPrepared}, {@link #prepare}). The latter loads 64 quant bytes as 16 int lanes and takes nibble {@code k}
 * (bits {@code 4k .. 4k + 3}) of every lane at once, so lane {@code i} of nibble {@code k} is byte {@code 4i + k / 2}
 * of the 64, low nibble for even {@code k}; {@link #perm} holds {@code x} in that order. The mins of a Q4_K block do
 * not depend on the values, so their products need only the sums of {@code x} over each sub-block of 32: {@link #sums}.
 * Per-thread scratch, reused by the next product on the same thread.
 */
final class Q4kActivations {

    /**
     * [256]: position in a block of the value that goes to slot {@code s} of the rearranged block: slot
     * {@code 128p + 16k + i} is lane {@code i} of nibble {@code k} of the quant bytes {@code 64p .. 64p + 63}.
     */
    static final int[] ORDER = order();

    /** [cols]: x in {@link #ORDER}, block by block. */
    float[] perm = new float[0];
    /** [cols / 16]: 16 floats per block: 0 in lanes 0..7, the sum of x over sub-block j in lane 8 + j. */
    float[] sums = new float[0];

    /**
     * [cols / 2]: x quantized to 8 bits per block of 256 ({@link #xd}), two values per int for the grouped kernel's
     * 16-bit lanes ({@link VectorKernels#dotQ4_KGroup}): int {@code 128b + 4ch + k} of block {@code b} holds in its low
     * 16 bits the value of column {@code Q4kGroups.column(ch, k)} and in its high 16 bits that of column
     * {@code Q4kGroups.column(ch, k + 4)} (k < 4): lane {@code 2i} of a 64-byte load read as 32 shorts holds nibbles 0..3
     * of row i's int, lane {@code 2i + 1} its nibbles 4..7.
     */
    int[] xq = new int[0];
    /** [cols / 256]: the step of each block's 8-bit values, {@code max |x| / 127} (0 for a block of zeros). */
    float[] xd = new float[0];
    /**
     * [cols / 32]: the sum of the 8-bit x over each sub-block of 32 values, times its step: the mins' part meets the
     * same x as the values' part, so that x's rounding errors meet the weights themselves (of mean near 0), not their
     * offset (with the exact sums here, 1B-shaped rows were off by a bias common to all rows).
     */
    float[] st = new float[0];

    /**
     * Quantizes {@code x[xOff .. xOff + cols)} ({@code cols} a multiple of 256) into {@link #xq} and {@link #xd} (values
     * {@code round(x / d)} in -127..127, as llama.cpp's Q8_K activations), and sums them into {@link #st}.
     */
    Q4kActivations prepareGroups(float[] x, int xOff, int cols) {
        if (xq.length < cols / 2) {
            xq = new int[cols / 2];
            xd = new float[cols / 256];
            st = new float[cols / 32];
        }
        int[] q = block;
        for (int c = 0; c < cols; c += 256) {
            int base = xOff + c;
            float amax = 0;
            for (int i = 0; i < 256; i++) amax = Math.max(amax, Math.abs(x[base + i]));
            float d = amax / 127, inv = amax == 0 ? 0 : 127 / amax;
            xd[c / 256] = d;
            // |x| * 127 / amax <= 127, clamped against the product's rounding
            for (int i = 0; i < 256; i++) q[i] = Math.max(-127, Math.min(127, Math.round(x[base + i] * inv)));
            for (int ch = 0; ch < 32; ch++) {
                for (int k = 0; k < 4; k++) {
                    xq[c / 2 + 4 * ch + k] = q[Q4kGroups.column(ch, k + 4)] << 16 | (q[Q4kGroups.column(ch, k)] & 0xFFFF);
                }
            }
            for (int j = 0; j < 8; j++) {
                int sum = 0;
                for (int i = 0; i < 32; i++) sum += q[32 * j + i];
                st[c / 32 + j] = sum * d;
            }
        }
        return this;
    }

    /** [256]: one block's 8-bit values in column order (scratch of {@link #prepareGroups}; instances are per thread). */
    private final int[] block = new int[256];

    private static int[] order() {
        int[] o = new int[256];
        for (int p = 0; p < 2; p++) {
            for (int k = 0; k < 8; k++) {
                for (int i = 0; i < 16; i++) {
                    int b = 64 * p + 4 * i + k / 2; // quant byte: chunk b / 32 holds values 64 (b / 32) .. + 63
                    o[128 * p + 16 * k + i] = 64 * (b / 32) + (k % 2 == 1 ? 32 : 0) + b % 32;
                }
            }
        }
        return o;
    }

    /** Rearranges {@code x[xOff .. xOff + cols)} ({@code cols} a multiple of 256) into {@link #perm} and {@link #sums}. */
    Q4kActivations prepare(float[] x, int xOff, int cols) {
        if (perm.length < cols) {
            perm = new float[cols];
            sums = new float[cols / 16];
        }
        int[] order = ORDER;
        for (int c = 0; c < cols; c += 256) {
            int base = xOff + c;
            for (int s = 0; s < 256; s++) perm[c + s] = x[base + order[s]];
            int so = c / 16;
            for (int j = 0; j < 8; j++) {
                float sum = 0;
                for (int i = 0; i < 32; i++) sum += x[base + 32 * j + i];
                sums[so + j] = 0;
                sums[so + 8 + j] = sum;
            }
        }
        return this;
    }
}
