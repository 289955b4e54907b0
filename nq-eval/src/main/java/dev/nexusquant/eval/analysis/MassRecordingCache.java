package dev.nexusquant.eval.analysis;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.tensor.Kernels;

import java.util.Arrays;

/**
 * A dense fp32 cache (its attention is {@link DenseKvCache}'s) that also records, for queries at positions
 * {@code >= mass.from()}, the softmax probability each cached row gets from each query head, summed over the heads
 * of its KV head's group, into an {@link OracleMass}.
 */
final class MassRecordingCache implements KvCache {

    private final DenseKvCache dense;
    private final KvLayout layout;
    private final OracleMass mass;
    private final Kernels kernels = Kernels.preferred();
    private final float scale;
    /** [layer][rows * kvDim] keys as appended. */
    private final float[][] keys;
    /** [layer][rows] positions as appended. */
    private final int[][] positions;
    private final int[] counts;

    MassRecordingCache(KvLayout layout, OracleMass mass) {
        this.dense = new DenseKvCache(layout, DenseKvCache.Precision.FP32);
        this.layout = layout;
        this.mass = mass;
        this.scale = (float) (1.0 / Math.sqrt(layout.headDim()));
        this.keys = new float[layout.layers()][0];
        this.positions = new int[layout.layers()][0];
        this.counts = new int[layout.layers()];
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public void append(int layer, int n, int[] pos, float[] k, float[] v) {
        dense.append(layer, n, pos, k, v);
        int kvDim = layout.kvDim(), c = counts[layer];
        if ((c + n) * kvDim > keys[layer].length) {
            int cap = Math.max(c + n, 2 * c + 64);
            keys[layer] = Arrays.copyOf(keys[layer], cap * kvDim);
            positions[layer] = Arrays.copyOf(positions[layer], cap);
        }
        System.arraycopy(k, 0, keys[layer], c * kvDim, n * kvDim);
        System.arraycopy(pos, 0, positions[layer], c, n);
        counts[layer] = c + n;
    }

    @Override
    public void attend(int layer, int kvHead, int n, int[] pos, float[] q, float[] out) {
        dense.attend(layer, kvHead, n, pos, q, out);
        int dim = layout.headDim(), kvDim = layout.kvDim(), qDim = layout.qDim(), group = layout.groupSize();
        int rows = counts[layer];
        float[] k = keys[layer];
        int[] p = positions[layer];
        float[] s = new float[rows]; // [rows] scores of one query head
        for (int i = 0; i < n; i++) {
            if (!mass.records(pos[i])) continue;
            int visible = 0;
            while (visible < rows && p[visible] <= pos[i]) visible++;
            for (int g = 0; g < group; g++) {
                int qo = i * qDim + (kvHead * group + g) * dim;
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < visible; t++) {
                    s[t] = scale * kernels.dot(q, qo, k, t * kvDim + kvHead * dim, dim);
                    max = Math.max(max, s[t]);
                }
                double z = 0;
                for (int t = 0; t < visible; t++) {
                    s[t] = (float) Math.exp(s[t] - max);
                    z += s[t];
                }
                for (int t = 0; t < visible; t++) mass.add(layer, kvHead, p[t], pos[i], (float) (s[t] / z));
            }
        }
    }

    @Override
    public long tokensSeen() {
        return dense.tokensSeen();
    }

    @Override
    public KvStats stats() {
        return dense.stats();
    }

    @Override
    public void close() {
        dense.close();
    }
}
