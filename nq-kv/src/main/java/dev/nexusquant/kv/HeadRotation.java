package dev.nexusquant.kv;

/**
 * An orthonormal transform of one head vector, applied in place: the cache stores {@code H x} and rotates each
 * query once ({@code q . k = Hq . Hk}). The identity and the randomized Hadamard rotation implement it.
 */
public interface HeadRotation {

    /** x[off .. off+dim) := H x. */
    void forward(float[] x, int off);

    /** x[off .. off+dim) := H^T x. */
    void inverse(float[] x, int off);

    /** True when forward and inverse do nothing. */
    default boolean isIdentity() {
        return false;
    }

    HeadRotation IDENTITY = new HeadRotation() {
        @Override
        public void forward(float[] x, int off) {
        }

        @Override
        public void inverse(float[] x, int off) {
        }

        @Override
        public boolean isIdentity() {
            return true;
        }
    };
}
