package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.PositionalRotation;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * RoPE averaged over the next {@code future} positions, for {@link ExpectedAttentionEviction}: the matrix
 * {@code M(p) = (1/F) sum_{t=1..F} R(p + t)} that carries a pre-RoPE query's statistics forward to where future
 * queries will be. RoPE's angles add ({@code R(p + t) = R(p) R(t)}), so {@code M(p) = R(p) M0} with
 * {@code M0 = (1/F) sum_t R(t)}, computed once per rotation and horizon and remembered while the rotation lives.
 */
final class AveragedRotation {

    private static final Map<PositionalRotation, Map<Long, float[]>> MEMO =
            Collections.synchronizedMap(new WeakHashMap<>());

    private final PositionalRotation rope;
    private final int dim;
    private final float[] m0; // [dim][dim] row-major

    AveragedRotation(PositionalRotation rope, int dim, int future) {
        this.rope = rope;
        this.dim = dim;
        this.m0 = MEMO.computeIfAbsent(rope, r -> Collections.synchronizedMap(new HashMap<>()))
                .computeIfAbsent(((long) dim << 32) | future, key -> average(rope, dim, future));
    }

    /** {@code M0 = (1/F) sum_{t=1..F} R(t)}, [dim][dim] row-major, built column by column from the unit vectors. */
    static float[] average(PositionalRotation rope, int dim, int future) {
        double[] acc = new double[dim * dim];
        float[] e = new float[dim];
        for (int j = 0; j < dim; j++) {
            for (int t = 1; t <= future; t++) {
                java.util.Arrays.fill(e, 0f);
                e[j] = 1f;
                rope.forward(e, 0, t);
                for (int i = 0; i < dim; i++) acc[i * dim + j] += e[i];
            }
        }
        float[] m = new float[dim * dim];
        for (int i = 0; i < m.length; i++) m[i] = (float) (acc[i] / future);
        return m;
    }

    /** {@code x := M(p) x} for the vector at {@code x[off, off + dim)}. */
    void apply(float[] x, int off, int p) {
        float[] y = new float[dim];
        for (int i = 0; i < dim; i++) {
            double s = 0;
            for (int j = 0; j < dim; j++) s += (double) m0[i * dim + j] * x[off + j];
            y[i] = (float) s;
        }
        System.arraycopy(y, 0, x, off, dim);
        rope.forward(x, off, p);
    }
}
