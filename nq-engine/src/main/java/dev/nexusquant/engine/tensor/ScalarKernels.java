package dev.nexusquant.engine.tensor;

/** The plain-Java twin of {@link VectorKernels}: every operation written as the loop that defines it. */
public final class ScalarKernels implements Kernels {

    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public float dotF16(float[] a, int aOff, short[] b, int bOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[aOff + i] * Float.float16ToFloat(b[bOff + i]);
        return s;
    }

    @Override
    public void axpyF16(float alpha, short[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * Float.float16ToFloat(x[xOff + i]);
    }

    @Override
    public void toPanel(float[] rows, int count, int cols, float[] panel) {
        for (int c = 0, dst = 0; c < cols; c++, dst += PANEL) {
            for (int i = 0; i < PANEL; i++) panel[dst + i] = i < count ? rows[i * cols + c] : 0f;
        }
    }

    @Override
    public void gemmPanel(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                float s = 0;
                for (int c = 0; c < cols; c++) s += x[xOff + t * cols + c] * panel[c * PANEL + r];
                out[outOff + t * outStride + r] = s;
            }
        }
    }

    @Override
    public void scores(float[] q, int qOff, int qStride, int rows, int headDim, float[] kt, int ktOff, int ktStride, int tokens,
                       float scale, float[] s, int sOff, int sStride) {
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float acc = 0;
                for (int d = 0; d < headDim; d++) acc += q[qOff + r * qStride + d] * kt[ktOff + d * ktStride + t];
                s[sOff + r * sStride + t] = acc * scale;
            }
        }
    }

    @Override
    public void scoresF16(float[] q, int qOff, int qStride, int rows, int headDim, short[] kt, int ktOff, int ktStride, int tokens,
                          float scale, float[] s, int sOff, int sStride) {
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) {
                float acc = 0;
                for (int d = 0; d < headDim; d++) acc += q[qOff + r * qStride + d] * Float.float16ToFloat(kt[ktOff + d * ktStride + t]);
                s[sOff + r * sStride + t] = acc * scale;
            }
        }
    }

    @Override
    public void weightedSum(float[] p, int pOff, int pStride, int rows, float[] v, int vOff, int tokens, int headDim,
                            float[] out, int oOff, int oStride) {
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) axpy(p[pOff + r * pStride + t], v, vOff + t * headDim, out, oOff + r * oStride, headDim);
        }
    }

    @Override
    public void weightedSumF16(float[] p, int pOff, int pStride, int rows, short[] v, int vOff, int tokens, int headDim,
                               float[] out, int oOff, int oStride) {
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) axpyF16(p[pOff + r * pStride + t], v, vOff + t * headDim, out, oOff + r * oStride, headDim);
        }
    }

    @Override
    public float expShifted(float[] x, int off, int n, float max) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    @Override
    public float dotRow(Weights w, int row, float[] x, int xOff) {
        int cols = w.cols();
        int block = Math.max(w.type().blockSize, Math.min(cols, 256));
        float[] tmp = new float[block];
        float s = 0;
        long off = w.rowOffset(row);
        long blockBytes = w.type().bytesFor(block);
        for (int c = 0; c < cols; c += block, off += blockBytes) {
            int n = Math.min(block, cols - c);
            Quants.dequantize(w.type(), w.data(), off, tmp, 0, n);
            for (int i = 0; i < n; i++) s += tmp[i] * x[xOff + c + i];
        }
        return s;
    }

    @Override
    public void dequantizeRows(Weights w, int row, int count, float[] dst, int dstOff) {
        for (int r = 0; r < count; r++) {
            Quants.dequantize(w.type(), w.data(), w.rowOffset(row + r), dst, dstOff + r * w.cols(), w.cols());
        }
    }

    @Override
    public void gemmTile(float[] a, int rows, int cols, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                out[outOff + t * outStride + r] = dot(a, r * cols, x, xOff + t * cols, cols);
            }
        }
    }

    /**
     * The twin of {@link VectorKernels#dotQ4_KGroup}: 16 rows of a grouped Q4_K matrix ({@link Q4kGroups}) dotted with x
     * in 8 bits ({@link Q4kActivations#xq}, {@link Q4kActivations#xd}), without the mins' part, row by row: exact integer
     * sums per sub-block, then the same float operations in the same order.
     */
    static void dotQ4_KGroupQ8(java.lang.foreign.MemorySegment p, long q, long m, int[] xq, float[] xd, int n, float[] out, int o) {
        java.lang.foreign.ValueLayout.OfInt i32 = java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.lang.foreign.ValueLayout.OfFloat f32 = Q4kGroups.F32;
        for (int row = 0; row < Q4kGroups.ROWS; row++) {
            float total = 0;
            long qb = q, mb = m;
            for (int c = 0; c < n; c += 256, qb += Q4kGroups.QUANTS, mb += Q4kGroups.META) {
                float blk = 0;
                for (int g = 0; g < 4; g++) {
                    int even = 0, odd = 0; // even nibbles (sub-block 2g), odd nibbles (2g + 1)
                    for (int ch = 8 * g; ch < 8 * g + 8; ch++) {
                        int quants = p.get(i32, qb + 64L * ch + 4L * row);
                        for (int k = 0; k < 8; k++) {
                            int pair = xq[(c >> 1) + 4 * ch + k % 4];
                            int xv = k < 4 ? (short) pair : pair >> 16; // nibbles 4..7 meet the pair's high half
                            int prod = (quants >>> 4 * k & 15) * xv;
                            if (k % 2 == 0) even += prod;
                            else odd += prod;
                        }
                    }
                    int sm = p.get(i32, mb + 64L * g + 4L * row);
                    blk = Math.fma((float) even, (float) (sm & 0xFF), blk);
                    blk = Math.fma((float) odd, (float) (sm >>> 8 & 0xFF), blk);
                }
                total = Math.fma(blk * xd[c >> 8], p.get(f32, mb + 256 + 4L * row), total);
            }
            out[o + row] = total;
        }
    }

    /**
     * The twin of {@link VectorKernels#dotQ6_KGroup}: 16 rows of a grouped Q6_K matrix ({@link Q6kGroups}) dotted with x
     * in 8 bits ({@link Q4kActivations#xq}, {@link Q4kActivations#xd}), row by row: each value rebuilt from its low
     * nibble and high bits, offset by -32, exact integer sums per sub-block of 16 times its int8 scale, exact per block,
     * then {@code fma((float) sum * xd, d, total)} as the vector kernel does.
     */
    static void dotQ6_KGroupQ8(java.lang.foreign.MemorySegment p, long q, long m, int[] xq, float[] xd, int n, float[] out, int o) {
        java.lang.foreign.ValueLayout.OfInt i32 = java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        int[] sub = new int[16]; // per block: the sum of (value - 32) * x over each sub-block of 16 columns
        for (int row = 0; row < Q6kGroups.ROWS; row++) {
            float total = 0;
            long qb = q, mb = m;
            for (int c = 0; c < n; c += 256, qb += Q6kGroups.QUANTS, mb += Q6kGroups.META) {
                java.util.Arrays.fill(sub, 0);
                for (int ch = 0; ch < 32; ch++) {
                    long pair = qb + (long) Q6kGroups.PAIR * (ch / 2) + 4L * row;
                    int lows = p.get(i32, pair + 64L * (ch % 2)), highs = p.get(i32, pair + 128);
                    for (int k = 0; k < 8; k++) {
                        int value = (lows >>> 4 * k & 15 | (highs >>> Q6kGroups.highBit(ch % 2, k) & 3) << 4) - 32;
                        int xpair = xq[(c >> 1) + 4 * ch + k % 4];
                        int xv = k < 4 ? (short) xpair : xpair >> 16; // nibbles 4..7 meet the pair's high half
                        sub[Q4kGroups.column(ch, k) / 16] += value * xv;
                    }
                }
                int blk = 0;
                for (int j = 0; j < 16; j++) blk += sub[j] * (byte) (p.get(i32, mb + 64L * (j / 4) + 4L * row) >> 8 * (j % 4));
                total = Math.fma((float) blk * xd[c >> 8], p.get(Q6kGroups.F32, mb + 256 + 4L * row), total);
            }
            out[o + row] = total;
        }
    }

    /**
     * The twin of {@link VectorKernels#dotQ8_0GroupQ8}: 16 grouped Q8_0 rows dotted with x in 8 bits, each block's
     * integer sum exact, then {@code fma(sum * xd, scale, total)} as the vector kernel does.
     */
    static void dotQ8_0GroupQ8(java.lang.foreign.MemorySegment p, long q, long s, int[] xq, float[] xd, int n, float[] out, int o) {
        java.lang.foreign.ValueLayout.OfInt i32 = java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int row = 0; row < Q8Groups.ROWS; row++) {
            float total = 0;
            long qb = q, sb = s;
            for (int c = 0; c < n; c += 32, qb += Q8Groups.BLOCK, sb += Q8Groups.BLOCK) {
                int sum = 0;
                for (int j = 0; j < 8; j++) {
                    int quants = p.get(i32, qb + 64L * j + 4L * row); // columns c + 4j .. c + 4j + 3, one byte each
                    for (int k = 0; k < 4; k++) {
                        int pair = xq[(c >> 1) + 2 * j + k % 2];
                        sum += (byte) (quants >> 8 * k) * (k < 2 ? (short) pair : pair >> 16);
                    }
                }
                total = Math.fma((float) sum * xd[c >> 5], p.get(Q8Groups.F32, sb + 4L * row), total);
            }
            out[o + row] = total;
        }
    }

    /** The twin of {@link Q8Activations#prepare}: x rounded to 8 bits per block of 32, ties to even, in pairs. */
    static void quantizeQ8_0(float[] x, int xOff, int cols, int[] xq, float[] xd) {
        int[] q = new int[32];
        for (int c = 0; c < cols; c += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xOff + c + i]));
            float inv = amax == 0 ? 0 : 127 / amax;
            xd[c >> 5] = amax / 127;
            for (int i = 0; i < 32; i++) q[i] = (int) Math.rint(x[xOff + c + i] * inv);
            for (int k = 0; k < 32; k += 4) {
                xq[(c + k) >> 1] = q[k + 2] << 16 | (q[k] & 0xFFFF);
                xq[((c + k) >> 1) + 1] = q[k + 3] << 16 | (q[k + 1] & 0xFFFF);
            }
        }
    }
}
