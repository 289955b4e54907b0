package dev.nexusquant.engine.tensor;

/**
 * Matrix products with weight matrices, spread over the cores: {@code out[t][r] = W[r] . x[t]}.
 *
 * <p>One token (decode) is a matrix-vector product: rows are split between threads and each row is dotted with
 * {@code x} straight from the weights' storage ({@link Kernels#dotRow}). Several tokens (prefill) are a
 * matrix-matrix product: each thread decodes 4 rows at a time into a small float tile and multiplies it with blocks of
 * 64 tokens ({@link Kernels#gemmTile}), so each weight is decoded once per 64 tokens and the token block stays in cache.
 */
public final class Linear {

    /** Multiply-adds below which a product is not worth spreading over threads. */
    static final long MIN_PARALLEL_WORK = 1 << 15;
    static final int ROW_TILE = 4;
    static final int TOKEN_BLOCK = 64;

    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[0]);

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
            Parallel.forRange(rows, parts, ROW_TILE, (from, to) -> {
                for (int r = from; r < to; r++) out[outOff + r] = k.dotRow(w, r, x, xOff);
            });
            return;
        }
        Parallel.forRange(rows, parts, ROW_TILE, (from, to) -> {
            float[] tile = TILE.get();
            if (tile.length < ROW_TILE * cols) {
                tile = new float[ROW_TILE * cols];
                TILE.set(tile);
            }
            for (int t0 = 0; t0 < n; t0 += TOKEN_BLOCK) {
                int tokens = Math.min(TOKEN_BLOCK, n - t0);
                for (int r = from; r < to; r += ROW_TILE) {
                    int count = Math.min(ROW_TILE, to - r);
                    k.dequantizeRows(w, r, count, tile, 0);
                    k.gemmTile(tile, count, cols, x, xOff + t0 * cols, tokens, out, outOff + t0 * rows + r, rows);
                }
            }
        });
    }
}
