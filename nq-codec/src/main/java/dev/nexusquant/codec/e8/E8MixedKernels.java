package dev.nexusquant.codec.e8;

import dev.nexusquant.vector.Vectorization;

/**
 * The decode kernel of {@link E8MixedCodec}: one row of groups at their own rates. Two implementations compute the
 * same bits: {@link ScalarE8MixedKernels} (plain loops over the codebook tables) and {@code VectorE8MixedKernels}
 * (one 256-bit vector per group, the points built in registers as {@link VectorE8Kernels} builds them). Per value
 * both compute {@code w0 * c0} and then, for two-stage rates, {@code fma(w1, c1, that)}, with
 * {@code w0 = s * step_g} and {@code w1 = s * step_g * weight}.
 */
interface E8MixedKernels {

    E8MixedKernels SCALAR = new ScalarE8MixedKernels();

    static E8MixedKernels preferred() {
        return Preferred.KERNELS;
    }

    String name();

    /** out[outOff..+dim) = the row coded at block[off]. */
    void decode(E8MixedCodec c, byte[] block, int off, float[] out, int outOff);

    /** The vector kernels, loaded only when asked for (they need jdk.incubator.vector). */
    final class Holder {
        static final E8MixedKernels VECTOR = new VectorE8MixedKernels();

        private Holder() {
        }
    }

    final class Preferred {
        static final E8MixedKernels KERNELS = Vectorization.choose(SCALAR, () -> Holder.VECTOR);

        private Preferred() {
        }
    }
}
