package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

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

    /**
     * Rounds {@code x[xOff .. xOff + cols)} ({@code cols} a multiple of 32) into {@link #xq} and {@link #xd}: each
     * value {@code rint(x * (127 / max |x|))}, ties to even (adding and taking away 1.5 * 2^23 in 16 float lanes), at
     * most 127 (|x| * 127 / max |x| <= 127 (1 + 2^-23)^2); the pairs are formed by a scalar loop (with a two-vector
     * {@code selectFrom} instead, C2 compiled the 2048-column product to 6-8 GB/s). Twin {@link ScalarKernels#quantizeQ8_0}.
     */
    Q8Activations prepare(float[] x, int xOff, int cols) {
        if (xq.length < cols / 2) {
            xq = new int[cols / 2];
            xd = new float[cols / 32];
        }
        // grouped Q8_0 weights exist only where the kernels have 16 lanes (VectorKernels.F is SPECIES_512 there)
        FloatVector rounder = FloatVector.broadcast(VectorKernels.F, 0x1.8p23f);
        int[] q = block;
        for (int c = 0; c < cols; c += 32) {
            int base = xOff + c;
            FloatVector v0 = FloatVector.fromArray(VectorKernels.F, x, base), v1 = FloatVector.fromArray(VectorKernels.F, x, base + 16);
            float amax = v0.abs().max(v1.abs()).reduceLanes(VectorOperators.MAX);
            FloatVector inv = FloatVector.broadcast(VectorKernels.F, amax == 0 ? 0 : 127 / amax);
            xd[c / 32] = amax / 127;
            ((IntVector) v0.mul(inv).add(rounder).sub(rounder).convertShape(VectorOperators.F2I, VectorKernels.I, 0)).intoArray(q, 0);
            ((IntVector) v1.mul(inv).add(rounder).sub(rounder).convertShape(VectorOperators.F2I, VectorKernels.I, 0)).intoArray(q, 16);
            for (int k = 0; k < 32; k += 4) {
                xq[(c + k) / 2] = q[k + 2] << 16 | (q[k] & 0xFFFF);
                xq[(c + k) / 2 + 1] = q[k + 3] << 16 | (q[k + 1] & 0xFFFF);
            }
        }
        return this;
    }

    /** The 8-bit value of column {@code col} (the order of {@link #xq} undone). */
    int value(int col) {
        int pair = xq[col / 4 * 2 + col % 2];
        return col % 4 < 2 ? (short) pair : pair >> 16;
    }

    /** [32]: one block's 8-bit values (scratch of {@link #prepare}; instances are per thread). */
    private final int[] block = new int[32];
}
