package dev.nexusquant.codec.e8;

import dev.nexusquant.vector.Vectorization;

/**
 * The read-side kernels of {@link E8Codec}: decode, fused dot, fused axpy of one stored vector. Two
 * implementations compute the same thing: {@link ScalarE8Kernels} (plain loops) and {@code VectorE8Kernels} (the
 * Vector API, 8 lanes per group of eight values); tests compare them on random codes.
 */
interface E8Kernels {

    E8Kernels SCALAR = new ScalarE8Kernels();

    static E8Kernels vector() {
        return Holder.VECTOR;
    }

    /** The kernels {@link Vectorization} chooses (decided once). */
    static E8Kernels preferred() {
        return Preferred.KERNELS;
    }

    String name();

    /** out[outOff..+dim) = decoded vector at src[off]. */
    void decode(E8Codec c, byte[] src, int off, float[] out, int outOff);

    /** q[qOff..+dim) · decoded vector at src[off]. */
    float dot(E8Codec c, float[] q, int qOff, byte[] src, int off);

    /** acc[accOff..+dim) += w * decoded vector at src[off]. */
    void axpy(E8Codec c, float w, byte[] src, int off, float[] acc, int accOff);

    /** Loads the vector kernels only when asked for (they need jdk.incubator.vector). */
    final class Holder {
        static final E8Kernels VECTOR = new VectorE8Kernels();

        private Holder() {
        }
    }

    /** The choice, made once; {@link Holder} (and the Vector API) is touched only when the vector kernels are used. */
    final class Preferred {
        static final E8Kernels KERNELS = Vectorization.choose(SCALAR, E8Kernels::vector);

        private Preferred() {
        }
    }
}
