package dev.nexusquant.codec.hadamard;

/**
 * The unnormalized fast Walsh-Hadamard transform of one block, in place: {@code x[off..off+n) = H_n x} where
 * {@code H_n} is the Sylvester Hadamard matrix ({@code H_1 = [1]}, {@code H_2n = [[H_n, H_n], [H_n, -H_n]]}) and
 * {@code n} is a power of two. {@code H_n H_n = n I}, so the transform is its own inverse up to the factor n.
 */
interface Fwht {

    void transform(float[] x, int off, int n);

    /** {@code x[off + i] *= s[i]} for i in [0, n): the signs and the normalization, one rounding per element. */
    default void multiply(float[] x, int off, float[] s, int n) {
        for (int i = 0; i < n; i++) {
            x[off + i] *= s[i];
        }
    }
}
