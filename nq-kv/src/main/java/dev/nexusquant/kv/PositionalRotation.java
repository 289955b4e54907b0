package dev.nexusquant.kv;

/** RoPE at a given position, applied in place to one head vector; used to store keys with RoPE undone. */
public interface PositionalRotation {

    /** x := R(pos) x. */
    void forward(float[] x, int off, int pos);

    /** x := R(pos)^T x. */
    void inverse(float[] x, int off, int pos);

    /** {@link #forward} of {@code n} rows ([n][dim] from 0), row {@code r} at {@code pos[r]}. */
    default void forwardRows(float[] x, int n, int dim, int[] pos) {
        for (int r = 0; r < n; r++) forward(x, r * dim, pos[r]);
    }
}
