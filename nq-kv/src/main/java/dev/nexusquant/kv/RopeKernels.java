package dev.nexusquant.kv;

import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.vector.Vectorization;

/**
 * One row turned to its position by RoPE from the two angle tables of {@link RopeAngles}: pair i (elements
 * {@code first(i)}, {@code second(i)} of the convention) turns by the angle whose cosine and sine are
 * {@code c = c0 c1 - s0 s1} and {@code s = direction (s0 c1 + c0 s1)} (block entry {@code c0, s0}, fine entry
 * {@code c1, s1}), in double, and each element is rounded to float once:
 * {@code x0' = x0 c - x1 s}, {@code x1' = x0 s + x1 c}.
 *
 * <p>Two twins give the same bits: {@link #SCALAR} (plain loops, pair by pair) and {@code VectorRopeKernels} (the
 * Vector API: eight pairs' angles at once; for {@link RopeParams.Convention#ADJACENT} the elements are widened in
 * place, pairs swapped inside the vector and the angles spread over both lanes of each pair; for
 * {@link RopeParams.Convention#HALVES} the two halves are contiguous vectors already). Each product and sum is the
 * scalar one (a negated product added is the product subtracted, and sums are commutative), so no bit moves.
 */
interface RopeKernels {

    RopeKernels SCALAR = new Scalar();

    /** The twin {@link Vectorization} chooses (decided once). */
    static RopeKernels preferred() {
        return Preferred.KERNELS;
    }

    String name();

    /**
     * Rotates the pairs of one row in place.
     *
     * @param x         the row at {@code off}
     * @param half      pairs rotated ({@code rotaryDims / 2}); elements past them are left alone
     * @param coarse    [2 * half] the block's cosines, then its sines
     * @param fineCos   [.][half] cosines of the position inside its block, row at {@code fo}
     * @param fineSin   [.][half] the sines, row at {@code fo}
     * @param direction 1 to turn forward, -1 back
     */
    void rotate(RopeParams.Convention convention, int half, float[] x, int off, double[] coarse, double[] fineCos,
                double[] fineSin, int fo, double direction);

    /** Plain loops: the reference, and what runs without the Vector API. */
    final class Scalar implements RopeKernels {

        @Override
        public String name() {
            return "scalar";
        }

        @Override
        public void rotate(RopeParams.Convention convention, int half, float[] x, int off, double[] coarse,
                           double[] fineCos, double[] fineSin, int fo, double direction) {
            boolean adjacent = convention == RopeParams.Convention.ADJACENT;
            for (int i = 0; i < half; i++) {
                double c0 = coarse[i], s0 = coarse[half + i], c1 = fineCos[fo + i], s1 = fineSin[fo + i];
                double c = c0 * c1 - s0 * s1;
                double s = direction * (s0 * c1 + c0 * s1);
                int a = off + (adjacent ? 2 * i : i), b = off + (adjacent ? 2 * i + 1 : i + half);
                double x0 = x[a], x1 = x[b];
                x[a] = (float) (x0 * c - x1 * s);
                x[b] = (float) (x0 * s + x1 * c);
            }
        }
    }

    /** The vector twin, loaded only when asked for (it needs jdk.incubator.vector). */
    final class Holder {
        static final RopeKernels VECTOR = new VectorRopeKernels();

        private Holder() {
        }
    }

    final class Preferred {
        static final RopeKernels KERNELS = Vectorization.choose(SCALAR, () -> Holder.VECTOR);

        private Preferred() {
        }
    }
}
