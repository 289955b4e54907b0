package dev.nexusquant.eval.analysis;

import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.tensor.Kernels;

/** Exact attention over a chosen subset of a layer's rows (fp32 rows, the engine's dot product, double softmax sum). */
final class MaskedAttention {

    private static final Kernels KERNELS = Kernels.preferred();

    private MaskedAttention() {
    }

    /**
     * For each query {@code i} and query head of {@code kvHead}'s group: softmax-weighted values over the rows
     * {@code rows[j]} whose position {@code held[j] <= pos[i]}.
     *
     * @param keys   [rows][kvDim] the layer's keys
     * @param values [rows][kvDim] the layer's values
     * @param rows   [m] row indices of the rows attended
     * @param held   [m] their positions
     * @param q      [n][qDim] queries
     * @param out    [n][qDim] written for the group's heads only
     */
    static void attend(KvLayout layout, float[] keys, float[] values, int[] rows, int[] held, int kvHead, int n,
                       int[] pos, float[] q, float[] out) {
        int dim = layout.headDim(), kvDim = layout.kvDim(), qDim = layout.qDim(), group = layout.groupSize();
        float scale = (float) (1.0 / Math.sqrt(dim));
        int m = rows.length;
        float[] s = new float[m];
        float[] acc = new float[dim];
        for (int i = 0; i < n; i++) {
            int visible = 0;
            while (visible < m && held[visible] <= pos[i]) visible++;
            for (int g = 0; g < group; g++) {
                int qo = i * qDim + (kvHead * group + g) * dim;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    s[j] = scale * KERNELS.dot(q, qo, keys, rows[j] * kvDim + kvHead * dim, dim);
                    max = Math.max(max, s[j]);
                }
                java.util.Arrays.fill(acc, 0f);
                double z = 0;
                for (int j = 0; j < visible; j++) {
                    float w = (float) Math.exp(s[j] - max);
                    z += w;
                    int vo = rows[j] * kvDim + kvHead * dim;
                    for (int x = 0; x < dim; x++) acc[x] += w * values[vo + x];
                }
                for (int x = 0; x < dim; x++) out[qo + x] = visible == 0 ? 0f : (float) (acc[x] / z);
            }
        }
    }
}
