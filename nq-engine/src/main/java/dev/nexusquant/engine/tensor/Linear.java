package dev.nexusquant.engine.tensor;

/**
 * Matrix products with weight matrices, spread over the cores: {@code out[t][r] = W[r] . x[t]}.
 *
 * <p>One token (decode) is a matrix-vector product: rows are split between threads and each row is dotted with
 * {@code x} straight from the weights' storage ({@link Kernels#dotRows}, which may prepare {@code x} once per range). Several tokens (prefill) are a
 * matrix-matrix product: each thread decodes {@link Kernels#PANEL} rows at a time, transposes them into a packed panel
 * ({@code [cols][PANEL]}), and multiplies it with blocks of {@link #TOKEN_BLOCK} tokens ({@link Kernels#gemmPanel}), so
 * each weight is decoded once per block of tokens, the token block stays in cache, and the kernel needs no horizontal
 * sums (it broadcasts one activation against a vector of rows).
 */
public final class Linear {

    /** Multiply-adds below which a product is not worth spreading over threads. */
    static final long MIN_PARALLEL_WORK = 1 << 15;
    static final int ROW_TILE = 4;
    static final int TOKEN_BLOCK = 256;

    private static final ThreadLocal<float[][]> TILE = ThreadLocal.withInitial(() -> new float[][]{new float[0], new float[0]});

    private Linear() {
    }

    /**
     * {@code out[outOff + t * w.rows() + r] = W[r] . x[xOff + t * w.cols() ..]} for {@code t < n}.
     *
     * @param x   [n][cols]
     * @param out [n][rows]
     */
    public static void apply(Kernels k, Weights w, float[] x, int xOff, int n, float[] out, int outOff) {
        int rows = w.rows(), cols = w.cols();
        long work = (long) rows * cols * n;
        int parts = Parallel.partsFor(work, MIN_PARALLEL_WORK);
        if (n == 1) {
            Parallel.forRange(rows, parts, ROW_TILE, (from, to) -> k.dotRows(w, from, to, x, xOff, out, outOff + from));
            return;
        }
        int panel = Kernels.PANEL;
        Parallel.forRange(rows, parts, panel, (from, to) -> {
            float[][] buf = TILE.get();
            if (buf[0].length < panel * cols) {
                buf = new float[][]{new float[panel * cols], new float[panel * cols]};
                TILE.set(buf);
            }
            float[] rowsBuf = buf[0], packed = buf[1];
            for (int t0 = 0; t0 < n; t0 += TOKEN_BLOCK) {
                int tokens = Math.min(TOKEN_BLOCK, n - t0);
                for (int r = from; r < to; r += panel) {
                    int count = Math.min(panel, to - r);
                    // decode `count` rows transposed into [cols][PANEL], so the kernel broadcasts activations
                    k.panel(w, r, count, rowsBuf, packed);
                    k.gemmPanel(packed, cols, count, x, xOff + t0 * cols, tokens, out, outOff + t0 * rows + r, rows);
                }
            }
        });
    }
}
