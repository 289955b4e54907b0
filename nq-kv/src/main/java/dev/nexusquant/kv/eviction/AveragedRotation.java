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
 * RoPE turns dimensions in pairs, so each row of {@code M0} has at most two entries that are not zero (one where a
 * dimension is not rotated): {@link #apply} visits only those, in the order of the dense product, which gives the
 * same double sums (the skipped terms are zeros) at a cost of {@code O(dim)} instead of {@code O(dim^2)}.
 */
final class AveragedRotation {

    private static final Map<PositionalRotation, Map<Long, Sparse>> MEMO =
            Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * The entries of {@code M0} that are not zero, row by row, in column order.
     *
     * @param start [dim + 1] row i's entries are {@code [start[i], start[i + 1])}
     * @param col   [entries] their columns
     * @param value [entries] their values
     */
    record Sparse(int[] start, int[] col, float[] value) {
        static Sparse of(float[] m, int dim) {
            int[] start = new int[dim + 1];
            int entries = 0;
            for (float v : m) if (v != 0f) entries++;
            int[] col = new int[entries];
            float[] value = new float[entries];
            int e = 0;
            for (int i = 0; i < dim; i++) {
                start[i] = e;
                for (int j = 0; j < dim; j++) {
                    float v = m[i * dim + j];
                    if (v != 0f) {
                        col[e] = j;
                        value[e++] = v;
                    }
                }
            }
            start[dim] = e;
            return new Sparse(start, col, value);
        }
    }

    private final PositionalRotation rope;
    private final int dim;
    private final Sparse m0;

    AveragedRotation(PositionalRotation rope, int dim, int future) {
        this.rope = rope;
        this.dim = dim;
        this.m0 = MEMO.computeIfAbsent(rope, r -> Collections.synchronizedMap(new HashMap<>()))
                .computeIfAbsent(((long) dim << 32) | future, key -> Sparse.of(average(rope, dim, future), dim));
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
        int[] start = m0.start, col = m0.col;
        float[] value = m0.value;
        for (int i = 0; i < dim; i++) {
            double s = 0;
            for (int e = start[i]; e < start[i + 1]; e++) s += (double) value[e] * x[off + col[e]];
            y[i] = (float) s;
        }
        System.arraycopy(y, 0, x, off, dim);
        rope.forward(x, off, p);
    }
}
