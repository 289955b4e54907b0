package dev.nexusquant.codec.klt;

import dev.nexusquant.vector.Vectorization;

/**
 * The inverse transform of many rows at once by the explicit matrix of the basis: {@code x = Q y = Σ_j y_j q_j}
 * ({@code q_j} column j of Q), skipping the coefficients that are exactly zero (the groups a mixed-rate codec does not
 * store decode as zeros, so a row coded at 2 bits per value touches only the columns of its coded groups). It is
 * what attention runs per stored key when keys are kept with RoPE undone (the key must be rebuilt to be rotated to its
 * position): {@code 2 c dim} flops per row for c nonzero coefficients, against {@code 4 r dim} for the reflectors.
 *
 * <p>Two implementations compute the same bits: {@link ScalarKltKernels} (plain loops) and {@code VectorKltKernels}
 * (the Vector API); per value both take the coefficients in ascending order (skipping zeros by the same rule) and
 * accumulate them with one fused multiply-add each, starting from zero.
 */
interface KltKernels {

    KltKernels SCALAR = new ScalarKltKernels();

    /** The kernels {@link Vectorization} chooses (decided once). */
    static KltKernels preferred() {
        return Preferred.KERNELS;
    }

    String name();

    /**
     * Rows these kernels rebuild best at a time: the scratch to pass is this many rows ({@code rowsPerPass() * dim});
     * both twins give the same bits for the same scratch.
     */
    int rowsPerPass();

    /**
     * Rows of coefficients to rows, in place.
     *
     * @param columns [dim][dim] column j of Q at {@code j * dim}
     * @param y       [n][dim] rows at {@code yOff}: coefficients in, rows out
     * @param work    [dim] scratch, or [2 * dim] to take the rows two at a time, or [3 * dim] (or more) three at a
     *                time (each column read once for the rows of a pass; a coefficient is then skipped only when it is
     *                zero in all of them): what the twins agree on
     */
    void inverse(float[] columns, int dim, float[] y, int yOff, int n, float[] work);

    /** The vector kernels, loaded only when asked for (they need jdk.incubator.vector). */
    final class Holder {
        static final KltKernels VECTOR = new VectorKltKernels();

        private Holder() {
        }
    }

    final class Preferred {
        static final KltKernels KERNELS = Vectorization.choose(SCALAR, () -> Holder.VECTOR);

        private Preferred() {
        }
    }
}
