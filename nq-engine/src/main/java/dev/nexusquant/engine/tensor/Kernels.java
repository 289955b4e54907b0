package dev.nexusquant.engine.tensor;

/**
 * The numeric kernels of the engine, behind one interface with two implementations: {@link ScalarKernels}, plain Java
 * loops that read like the definitions, and {@link VectorKernels}, the same operations with the Panama Vector API.
 * Tests compare the two on random data of many sizes; {@link #preferred()} picks the vector one where the project's one
 * vectorization switch ({@link dev.nexusquant.vector.Vectorization}) allows it ({@code -Dnq.vectorization=scalar}
 * forces the scalar one).
 *
 * <p>All kernels are single-threaded; {@link Linear} spreads matrix products over cores.
 */
public interface Kernels {

    String name();

    /** {@code sum_i a[aOff + i] * b[bOff + i]} for {@code i < n}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** {@code y[yOff + i] += alpha * x[xOff + i]} for {@code i < n}. */
    void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n);

    /** {@code sum_i a[aOff + i] * half(b[bOff + i])}: a dot product with fp16 values. */
    float dotF16(float[] a, int aOff, short[] b, int bOff, int n);

    /** {@code y[yOff + i] += alpha * half(x[xOff + i])}. */
    void axpyF16(float alpha, short[] x, int xOff, float[] y, int yOff, int n);

    /** Row {@code row} of {@code w} dotted with {@code x[xOff .. xOff + w.cols())}. */
    float dotRow(Weights w, int row, float[] x, int xOff);

    /**
     * {@code out[outOff + r - from] = dotRow(w, r, x, xOff)} for rows {@code from <= r < to}: the decode kernel over a
     * range of rows, so that a kernel may prepare {@code x} once for all of them (up to the order of float additions,
     * the same values as {@link #dotRow}).
     */
    default void dotRows(Weights w, int from, int to, float[] x, int xOff, float[] out, int outOff) {
        for (int r = from; r < to; r++) out[outOff + r - from] = dotRow(w, r, x, xOff);
    }

    /**
     * The form of {@code w} these kernels read fastest: {@code w} itself, or {@code w} with its rows rearranged in memory
     * allocated from {@code arena}, a shared arena (the vector kernels pack Q8_0 rows for 16 lanes on several threads,
     * {@link Q8Groups}, {@link Q4kGroups}, unless {@code -Dnq.packWeights=false}). Called once per matrix when a model loads.
     */
    default Weights prepare(Weights w, java.lang.foreign.Arena arena) {
        return w;
    }

    /** Decodes rows {@code [row, row + count)} of {@code w} into {@code dst[dstOff ..]} as {@code count x cols} floats. */
    void dequantizeRows(Weights w, int row, int count, float[] dst, int dstOff);

    /**
     * A small matrix-matrix product: {@code out[outOff + t * outStride + r] = a[r * cols ..] . x[xOff + t * cols ..]}
     * for {@code r < rows}, {@code t < tokens}.
     *
     * @param a    [rows][cols] decoded weights
     * @param x    [tokens][cols] activations
     * @param out  written at {@code [tokens][outStride]}
     */
    void gemmTile(float[] a, int rows, int cols, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride);

    /**
     * Rows of a packed weight panel: {@link #gemmPanel} multiplies this many rows at once (32: two 512-bit vectors per
     * broadcast activation, see {@code VectorKernels.panel16}).
     */
    int PANEL = 32;

    /**
     * Transposes {@code count <= PANEL} decoded rows into a panel: {@code panel[c * PANEL + i] = rows[i * cols + c]} for
     * {@code i < count}, and 0 for {@code count <= i < PANEL}, for every {@code c < cols}.
     *
     * @param rows  [count][cols] decoded weights
     * @param panel [cols][PANEL], written whole
     */
    void toPanel(float[] rows, int count, int cols, float[] panel);

    /**
     * Rows {@code [row, row + count)} of {@code w} ({@code count <= PANEL}) as a panel for {@link #gemmPanel}: the same
     * as {@link #dequantizeRows} into {@code rows} ([count][cols] scratch) then {@link #toPanel} into {@code panel}
     * ([cols][PANEL], written whole), which is what this default does; a kernel may decode straight into the panel.
     */
    default void panel(Weights w, int row, int count, float[] rows, float[] panel) {
        dequantizeRows(w, row, count, rows, 0);
        toPanel(rows, count, w.cols(), panel);
    }

    /**
     * A panel of a matrix-matrix product: {@code out[outOff + t * outStride + r] = sum_c x[xOff + t * cols + c] *
     * panel[c * PANEL + r]} for {@code r < rows}, {@code t < tokens}.
     *
     * @param panel [cols][PANEL] weights, transposed (rows at and past {@code rows} are ignored)
     * @param x     [tokens][cols] activations
     */
    void gemmPanel(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride);

    /**
     * Attention scores against transposed keys: {@code s[sOff + r * sStride + t] = scale * sum_d q[qOff + r * qStride + d]
     * * kt[ktOff + d * ktStride + t]} for {@code r < rows} (at most 4), {@code t < tokens}.
     *
     * @param kt [headDim][ktStride] keys, one column per token
     */
    void scores(float[] q, int qOff, int qStride, int rows, int headDim, float[] kt, int ktOff, int ktStride, int tokens,
                float scale, float[] s, int sOff, int sStride);

    /** {@link #scores} with fp16 keys. */
    void scoresF16(float[] q, int qOff, int qStride, int rows, int headDim, short[] kt, int ktOff, int ktStride, int tokens,
                   float scale, float[] s, int sOff, int sStride);

    /**
     * Weighted sums of value rows: {@code out[oOff + r * oStride + d] += sum_t p[pOff + r * pStride + t] * v[vOff + t *
     * headDim + d]} for {@code r < rows} (at most 4), {@code d < headDim}.
     */
    void weightedSum(float[] p, int pOff, int pStride, int rows, float[] v, int vOff, int tokens, int headDim,
                     float[] out, int oOff, int oStride);

    /** {@link #weightedSum} with fp16 values. */
    void weightedSumF16(float[] p, int pOff, int pStride, int rows, short[] v, int vOff, int tokens, int headDim,
                        float[] out, int oOff, int oStride);

    /** {@code x[off + i] = exp(x[off + i] - max)} for {@code i < n}; returns the sum of the new values. */
    float expShifted(float[] x, int off, int n, float max);

    /** {@code gate[i] = silu(gate[i]) * up[i]} with {@code silu(g) = g / (1 + exp(-g))}, for {@code i < n}. */
    void siluMul(float[] gate, float[] up, int n);

    /** The scalar kernels. */
    static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /**
     * The Vector API kernels, or the scalar ones where the CPU has no 256- or 512-bit float vectors (for benchmarks
     * that compare the two; needs {@code jdk.incubator.vector}).
     */
    static Kernels vector() {
        return VectorKernels.isUsable() ? VectorKernels.INSTANCE : ScalarKernels.INSTANCE;
    }

    /**
     * The kernels to use, as {@link dev.nexusquant.vector.Vectorization} decides; with {@code -Dnq.kernelWarmup=true} the
     * vector ones start on their scalar twins while the JIT compiles them ({@link WarmingKernels}; off by default).
     */
    static Kernels preferred() {
        return Preferred.KERNELS;
    }

    /** Decided once; {@link VectorKernels} is named only inside the supplier, so it loads only when chosen. */
    final class Preferred {
        static final Kernels KERNELS = dev.nexusquant.vector.Vectorization.choose(ScalarKernels.INSTANCE, Preferred::vectorKernels);

        private Preferred() {
        }

        private static Kernels vectorKernels() {
            Kernels v = vector();
            return v instanceof VectorKernels && WarmingKernels.enabled() ? new WarmingKernels(v, ScalarKernels.matching(VectorKernels.L)) : v;
        }
    }
}
