package dev.nexusquant.kv;

/** RoPE at a given position, applied in place to one head vector; used to store keys with RoPE undone. */
public interface PositionalRotation {

    /** x := R(pos) x. */
    void forward(float[] x, int off, int pos);

    /** x := R(pos)^T x. */
    void inverse(float[] x, int off, int pos);
}
