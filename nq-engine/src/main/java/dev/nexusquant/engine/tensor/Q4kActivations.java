package dev.nexusquant.engine.tensor;

/**
 * The activations of a Q4_K matrix-vector product, rearranged once for all rows, for the two 16-lane kernels: the
 * grouped one ({@link VectorKernels#dotQ4_KGroup}, {@link #prepareGroups}: {@link #xt}, {@link #st}) and the one on the
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

    /** [256]: column of the value that {@link VectorKernels#dotQ4_KGroup} multiplies at slot {@code 8ch + k}. */
    static final int[] GROUP_ORDER = groupOrder();

    /** [cols]: 16 x in {@link #GROUP_ORDER}, block by block (for the grouped kernel, nibbles read as {@code 1 + q / 16}). */
    float[] xt = new float[0];
    /** [cols / 32]: the sum of x over each sub-block of 32 values. */
    float[] st = new float[0];

    private static int[] groupOrder() {
        int[] o = new int[256];
        for (int ch = 0; ch < 32; ch++) {
            for (int k = 0; k < 8; k++) o[8 * ch + k] = Q4kGroups.column(ch, k);
        }
        return o;
    }

    /** Rearranges {@code x[xOff .. xOff + cols)} ({@code cols} a multiple of 256) into {@link #xt} and {@link #st}. */
    Q4kActivations prepareGroups(float[] x, int xOff, int cols) {
        if (xt.length < cols) {
            xt = new float[cols];
            st = new float[cols / 32];
        }
        int[] order = GROUP_ORDER;
        for (int c = 0; c < cols; c += 256) {
            int base = xOff + c;
            for (int s = 0; s < 256; s++) xt[c + s] = 16 * x[base + order[s]];
            for (int j = 0; j < 8; j++) {
                float sum = 0;
                for (int i = 0; i < 32; i++) sum += x[base + 32 * j + i];
                st[c / 32 + j] = sum;
            }
        }
        return this;
    }

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
