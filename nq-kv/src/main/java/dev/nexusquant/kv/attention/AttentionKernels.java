package dev.nexusquant.kv.attention;

import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.vector.Vectorization;

/**
 * The operations attention over a compressed cache needs beyond the engine's {@link Kernels} (which give {@code dot},
 * {@code axpy} and {@code expShifted}): scores of a few queries against rows stored one after the other, their
 * weighted sum, and two small reductions. Two twins compute the same thing: {@link ScalarAttentionKernels}, plain
 * loops, and {@link VectorAttentionKernels}, the Vector API; {@link #preferred()} returns the one that the project's
 * vectorization switch ({@link Vectorization}) chooses. Tests compare the two on random inputs.
 */
public interface AttentionKernels {

    /** The engine kernels that go with this twin (the scalar ones with the scalar twin). */
    Kernels base();

    /** {@code y[off+i] *= s} for {@code i < n}. */
    void scale(float[] y, int off, int n, float s);

    /** The largest of {@code s[off .. off+n)}; {@code -Infinity} when n == 0. */
    float max(float[] s, int off, int n);

    /**
     * Scores of {@code m} queries against {@code cnt} rows: {@code s[j * stride + r] = (q_j . k_r + bias_j) * scale}.
     *
     * @param q    [m][d] queries from {@code qOff}
     * @param k    [cnt][d] rows
     * @param bias [m] added to query j's dot products, or null
     * @param s    [m][stride] output
     */
    default void scores(float[] q, int qOff, int m, int d, float[] k, int cnt, float[] bias, float scale,
                        float[] s, int stride) {
        Kernels base = base();
        for (int j = 0; j < m; j++) {
            float b = bias == null ? 0f : bias[j];
            for (int r = 0; r < cnt; r++) s[j * stride + r] = (base.dot(q, qOff + j * d, k, r * d, d) + b) * scale;
        }
    }

    /**
     * {@code acc_j += sum_r p[j * stride + r] * v_r} for {@code j < m}: the weighted sum of {@code cnt} value rows.
     *
     * @param p   [m][stride] weights
     * @param v   [cnt][d] rows
     * @param acc [m][d] accumulators
     */
    default void accumulate(float[] p, int stride, int m, int cnt, float[] v, int d, float[] acc) {
        Kernels base = base();
        for (int j = 0; j < m; j++) {
            for (int r = 0; r < cnt; r++) {
                float w = p[j * stride + r];
                if (w != 0f) base.axpy(w, v, r * d, acc, j * d, d);
            }
        }
    }

    /**
     * Dot products of one row with the {@code m} columns of a transposed matrix, each summed in double in index order:
     * {@code out[j] = sum over i < d, in order, of qT[i * m + j] * (double) k[kOff + i]}. With {@code qT} holding
     * floats widened to double, every product is exact, so a fused multiply-add gives the same bits as a multiply then
     * an add, and the twins agree bit for bit (expected attention ranks a prompt's rows with these sums).
     *
     * @param qT  [d][m] columns, widened floats
     * @param k   the row, {@code d} floats from {@code kOff}
     * @param out [m] sums
     */
    default void dotsInDouble(double[] qT, int m, int d, float[] k, int kOff, double[] out) {
        for (int j = 0; j < m; j++) {
            double t = 0;
            for (int i = 0; i < d; i++) t += qT[i * m + j] * (double) k[kOff + i];
            out[j] = t;
        }
    }

    /** The plain twin. */
    static AttentionKernels scalar() {
        return ScalarAttentionKernels.INSTANCE;
    }

    /** The twin {@link Vectorization} chooses, decided once. */
    static AttentionKernels preferred() {
        return Preferred.KERNELS;
    }

    /** {@link VectorAttentionKernels} is named only inside the supplier, so it loads only when chosen. */
    final class Preferred {
        static final AttentionKernels KERNELS = Vectorization.choose(ScalarAttentionKernels.INSTANCE,
                () -> VectorAttentionKernels.INSTANCE);

        private Preferred() {
        }
    }
}
