package dev.nexusquant.engine.tensor;

/**
 * The plain-Java twin of {@link VectorKernels}: every operation written as the loop that defines it.
 *
 * <p>The prefill's kernels ({@link #gemmPanel}, {@link #scores}, {@link #weightedSum}, {@link #expShifted},
 * {@link #siluMul}) compute the same bits as the vector twin of {@link #lanes()} float lanes: every output of a vector
 * lane is one {@code Math.fma} chain in the vector code's order, the lanes the vector code leaves to a scalar tail are
 * plain sums, {@code e^x} is {@code Lanes.exp} lane by lane and a sum across lanes is {@code Lanes.sum}'s tree, so that
 * {@link WarmingKernels} may run either twin without changing a logit ({@code LaneExactTwinsTest}).
 */
public final class ScalarKernels implements Kernels {

    /** Matches the 512-bit vector kernels (16 lanes). */
    static final ScalarKernels INSTANCE = new ScalarKernels(16);

    /** Float lanes of the vector twin whose results these kernels reproduce: 8 or 16. */
    private final int lanes;

    private ScalarKernels(int lanes) {
        this.lanes = lanes;
    }

    /** The scalar kernels that compute the same bits as the vector kernels of {@code lanes} (8 or 16) float lanes. */
    static ScalarKernels matching(int lanes) {
        if (lanes != 8 && lanes != 16) throw new IllegalArgumentException("vector twins have 8 or 16 float lanes, not " + lanes);
        return lanes == 16 ? INSTANCE : new ScalarKernels(lanes);
    }

    /** Float lanes of the vector twin these kernels match. */
    int lanes() {
        return lanes;
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

    /**
     * The twin of {@code VectorKernels.panel16} / {@code panel8}: tokens in the vector twin's blocks (8 with 16 lanes, 6
     * with 8) are one FMA chain per output over the columns in order; the tokens after the last block two chains, even
     * and odd columns, added at the end. Two tokens and four rows at a time.
     */
    @Override
    public void gemmPanel(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        int block = lanes == 16 ? 8 : 6;
        int full = tokens - tokens % block;
        for (int t = 0; t < full; t += 2) panelChains(panel, cols, rows, x, xOff + t * cols, out, outOff + t * outStride, outStride);
        for (int t = full; t < tokens; t++) panelEvenOdd(panel, cols, rows, x, xOff + t * cols, out, outOff + t * outStride);
    }

    /** Two tokens ({@code x[x0 ..]}, [2][cols]) against the panel: {@code out[o + j * outStride + r]}, one FMA chain each. */
    private static void panelChains(float[] panel, int cols, int rows, float[] x, int x0, float[] out, int o, int outStride) {
        int x1 = x0 + cols;
        for (int r = 0; r < rows; r += 4) { // r + 3 < PANEL: lanes past rows are computed and not stored
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            for (int c = 0, pc = r; c < cols; c++, pc += PANEL) {
                float w0 = panel[pc], w1 = panel[pc + 1], w2 = panel[pc + 2], w3 = panel[pc + 3];
                float s = x[x0 + c], u = x[x1 + c];
                a0 = Math.fma(w0, s, a0);
                a1 = Math.fma(w1, s, a1);
                a2 = Math.fma(w2, s, a2);
                a3 = Math.fma(w3, s, a3);
                b0 = Math.fma(w0, u, b0);
                b1 = Math.fma(w1, u, b1);
                b2 = Math.fma(w2, u, b2);
                b3 = Math.fma(w3, u, b3);
            }
            store4(out, o + r, rows - r, a0, a1, a2, a3);
            store4(out, o + outStride + r, rows - r, b0, b1, b2, b3);
        }
    }

    /** One token after the last block: even and odd columns in two chains (a last odd column joins the even one), then added. */
    private static void panelEvenOdd(float[] panel, int cols, int rows, float[] x, int x0, float[] out, int o) {
        for (int r = 0; r < rows; r += 4) {
            float e0 = 0, e1 = 0, e2 = 0, e3 = 0, d0 = 0, d1 = 0, d2 = 0, d3 = 0;
            int c = 0;
            for (int pc = r; c + 1 < cols; c += 2, pc += 2 * PANEL) {
                float s = x[x0 + c], u = x[x0 + c + 1];
                e0 = Math.fma(panel[pc], s, e0);
                e1 = Math.fma(panel[pc + 1], s, e1);
                e2 = Math.fma(panel[pc + 2], s, e2);
                e3 = Math.fma(panel[pc + 3], s, e3);
                d0 = Math.fma(panel[pc + PANEL], u, d0);
                d1 = Math.fma(panel[pc + PANEL + 1], u, d1);
                d2 = Math.fma(panel[pc + PANEL + 2], u, d2);
                d3 = Math.fma(panel[pc + PANEL + 3], u, d3);
            }
            if (c < cols) {
                int pc = c * PANEL + r;
                float s = x[x0 + c];
                e0 = Math.fma(panel[pc], s, e0);
                e1 = Math.fma(panel[pc + 1], s, e1);
                e2 = Math.fma(panel[pc + 2], s, e2);
                e3 = Math.fma(panel[pc + 3], s, e3);
            }
            store4(out, o + r, rows - r, e0 + d0, e1 + d1, e2 + d2, e3 + d3);
        }
    }

    /** The first {@code n} (at most 4 are stored) of four values at {@code out[o ..]}. */
    private static void store4(float[] out, int o, int n, float v0, float v1, float v2, float v3) {
        out[o] = v0;
        if (n > 1) out[o + 1] = v1;
        if (n > 2) out[o + 2] = v2;
        if (n > 3) out[o + 3] = v3;
    }

    /**
     * The twin of {@code VectorKernels.scores}: the tokens the vector twin takes in lanes (all but the last
     * {@code tokens % lanes}) are one FMA chain over {@code d} each, the rest plain sums; then times {@code scale}.
     */
    @Override
    public void scores(float[] q, int qOff, int qStride, int rows, int headDim, float[] kt, int ktOff, int ktStride, int tokens,
                       float scale, float[] s, int sOff, int sStride) {
        int vt = tokens - tokens % lanes;
        for (int r = 0; r < rows; r++) {
            int qr = qOff + r * qStride, sr = sOff + r * sStride;
            for (int t = 0; t < vt; t += 4) { // four tokens at a time (lanes is a multiple of 4)
                float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (int d = 0, at = ktOff + t; d < headDim; d++, at += ktStride) {
                    float qd = q[qr + d];
                    a0 = Math.fma(kt[at], qd, a0);
                    a1 = Math.fma(kt[at + 1], qd, a1);
                    a2 = Math.fma(kt[at + 2], qd, a2);
                    a3 = Math.fma(kt[at + 3], qd, a3);
                }
                s[sr + t] = a0 * scale;
                s[sr + t + 1] = a1 * scale;
                s[sr + t + 2] = a2 * scale;
                s[sr + t + 3] = a3 * scale;
            }
            for (int t = vt; t < tokens; t++) {
                float acc = 0;
                for (int d = 0; d < headDim; d++) acc += q[qr + d] * kt[ktOff + d * ktStride + t];
                s[sr + t] = acc * scale;
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

    /**
     * The twin of {@code VectorKernels.weightedSum}: the head dimensions the vector twin takes in lanes (all but the last
     * {@code headDim % lanes}) are one FMA chain over the tokens each, from {@code out}'s value; the rest plain sums.
     */
    @Override
    public void weightedSum(float[] p, int pOff, int pStride, int rows, float[] v, int vOff, int tokens, int headDim,
                            float[] out, int oOff, int oStride) {
        int vd = headDim - headDim % lanes;
        for (int r = 0; r < rows; r++) {
            int pr = pOff + r * pStride, or = oOff + r * oStride;
            for (int d = 0; d < vd; d += 4) {
                float a0 = out[or + d], a1 = out[or + d + 1], a2 = out[or + d + 2], a3 = out[or + d + 3];
                for (int t = 0, at = vOff + d; t < tokens; t++, at += headDim) {
                    float w = p[pr + t];
                    a0 = Math.fma(v[at], w, a0);
                    a1 = Math.fma(v[at + 1], w, a1);
                    a2 = Math.fma(v[at + 2], w, a2);
                    a3 = Math.fma(v[at + 3], w, a3);
                }
                out[or + d] = a0;
                out[or + d + 1] = a1;
                out[or + d + 2] = a2;
                out[or + d + 3] = a3;
            }
            for (int d = vd; d < headDim; d++) {
                float a = out[or + d];
                for (int t = 0; t < tokens; t++) a += p[pr + t] * v[vOff + t * headDim + d];
                out[or + d] = a;
            }
        }
    }

    @Override
    public void weightedSumF16(float[] p, int pOff, int pStride, int rows, short[] v, int vOff, int tokens, int headDim,
                               float[] out, int oOff, int oStride) {
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < tokens; t++) axpyF16(p[pOff + r * pStride + t], v, vOff + t * headDim, out, oOff + r * oStride, headDim);
        }
    }

    /**
     * The twin of {@code VectorKernels.expShifted}: {@link #expLane} on the elements the vector twin takes in lanes, summed
     * per lane and then across lanes as {@code Lanes.sum} does; the last {@code n % lanes} with {@code Math.exp}, added in
     * order.
     */
    @Override
    public float expShifted(float[] x, int off, int n, float max) {
        return expShifted(x, off, n, max, 0);
    }

    /**
     * {@link #expShifted(float[], int, int, float)} whose elements {@code [off, off + from)} hold their exponentials
     * already (written by the vector twin; {@code from} a multiple of the lanes): the rest are computed, and the sum is
     * taken over all {@code n} in the vector twin's order.
     */
    float expShifted(float[] x, int off, int n, float max, int from) {
        int bound = n >= lanes ? n - n % lanes : 0;
        for (int i = from; i < bound; i++) x[off + i] = expLane(x[off + i] - max);
        float sum = 0;
        if (bound > 0) {
            float[] acc = new float[lanes];
            for (int i = 0; i < bound; i += lanes) {
                for (int j = 0; j < lanes; j++) acc[j] += x[off + i + j];
            }
            sum = laneSum(acc);
        }
        for (int i = Math.max(bound, from); i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** {@code Lanes.sum}'s tree over 16 or 8 lanes: halves added lane by lane down to four, then (0 + 2) + (1 + 3). */
    static float laneSum(float[] acc) {
        float[] v = acc.clone();
        for (int half = v.length / 2; half >= 4; half /= 2) {
            for (int j = 0; j < half; j++) v[j] += v[j + half];
        }
        return (v[0] + v[2]) + (v[1] + v[3]);
    }

    /** The twin of {@code VectorKernels.siluMul}: {@link #expLane} on the elements the vector twin takes in lanes. */
    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        siluMul(gate, up, 0, n);
    }

    /**
     * Elements {@code [from, n)} of {@link #siluMul(float[], float[], int)}: with {@code from} a multiple of the lanes,
     * what the vector twin's call over {@code n} elements writes there.
     */
    void siluMul(float[] gate, float[] up, int from, int n) {
        int i = from;
        for (int bound = n - n % lanes; i < bound; i++) {
            float g = gate[i];
            gate[i] = g / (expLane(-g) + 1f) * up[i];
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 0x1.8p23f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float MAX_X = 88.3762626647949f, MIN_X = -87.3365447504019f;

    /** {@code Lanes.exp} in one lane: the same operations, so the same bits (within 2 ulp of {@code Math.exp}). */
    static float expLane(float x) {
        boolean over = x > 88.72283f, under = x < MIN_X;
        float c = Math.max(Math.min(x, MAX_X), MIN_X);
        float t = Math.fma(c, LOG2E, ROUND);
        int n = Float.floatToRawIntBits(t) - ROUND_BITS;
        float fn = t - ROUND;
        float r = Math.fma(fn, -LN2_HI, c);
        r = Math.fma(fn, -LN2_LO, r);
        float p = 1.9875691500e-4f;
        p = Math.fma(p, r, 1.3981999507e-3f);
        p = Math.fma(p, r, 8.3334519073e-3f);
        p = Math.fma(p, r, 4.1665795894e-2f);
        p = Math.fma(p, r, 1.6666665459e-1f);
        p = Math.fma(p, r, 5.0000001201e-1f);
        float e = Math.fma(p, r * r, r) + 1f;
        float y = e * Float.intBitsToFloat((n + 127) << 23);
        return over ? Float.POSITIVE_INFINITY : under ? 0f : y;
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

    /**
     * Rows {@code [row + lane0, row + count)} of {@code w} into lanes {@code lane0 .. count - 1} of every column of
     * {@code panel} ([cols][PANEL]), the other lanes untouched: with the vector twin's {@link #panel} of the first
     * {@code lane0} rows before it, the panel of all {@code count}.
     *
     * @param rows [count - lane0][cols] scratch
     */
    void panelLanes(Weights w, int row, int count, int lane0, float[] rows, float[] panel) {
        int cols = w.cols(), n = count - lane0;
        dequantizeRows(w, row + lane0, n, rows, 0);
        for (int c = 0, dst = lane0; c < cols; c++, dst += PANEL) {
            for (int i = 0; i < n; i++) panel[dst + i] = rows[i * cols + c];
        }
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
