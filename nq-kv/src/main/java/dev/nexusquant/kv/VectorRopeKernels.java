package dev.nexusquant.kv;

import dev.nexusquant.codec.rope.RopeParams;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RopeKernels} with the Panama Vector API, eight pairs at a time in double lanes (512-bit double vectors where
 * the machine has them, else the pairs a vector holds), then the pairs left over as the scalar twin does them.
 * <pre>
 *   angles (8 pairs):  C = c0 c1 - s0 s1,  S = (s0 c1 + c0 s1) direction
 *   HALVES:   x0 = x[i..], x1 = x[half + i..]         x0' = x0 C - x1 S,  x1' = x0 S + x1 C
 *   ADJACENT: X = x[2i..] widened (x0 x1 x0 x1 ...), Xs = X with each pair swapped,
 *             C, S spread to both lanes of a pair,   X' = X C + Xs (S * [-1, +1, ...])
 * </pre>
 */
final class VectorRopeKernels implements RopeKernels {

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int N = D.length();                     // pairs per step (angles), doubles per vector
    private static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2)); // N floats
    private static final VectorShuffle<Double> SWAP = VectorShuffle.fromOp(D, i -> i ^ 1);
    private static final VectorShuffle<Double> LOW = VectorShuffle.fromOp(D, i -> i / 2);          // pairs 0..N/2 spread
    private static final VectorShuffle<Double> HIGH = VectorShuffle.fromOp(D, i -> N / 2 + i / 2); // pairs N/2..N spread
    private static final DoubleVector SIGN = DoubleVector.fromArray(D, signs(), 0);                 // -1, +1, -1, +1 ...

    private static double[] signs() {
        double[] s = new double[N];
        for (int i = 0; i < N; i++) s[i] = (i & 1) == 0 ? -1.0 : 1.0;
        return s;
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public void rotate(RopeParams.Convention convention, int half, float[] x, int off, double[] coarse,
                       double[] fineCos, double[] fineSin, int fo, double direction) {
        boolean adjacent = convention == RopeParams.Convention.ADJACENT;
        int i = 0;
        if (N >= 2) {
            for (; i + N <= half; i += N) {
                DoubleVector c0 = DoubleVector.fromArray(D, coarse, i), s0 = DoubleVector.fromArray(D, coarse, half + i);
                DoubleVector c1 = DoubleVector.fromArray(D, fineCos, fo + i), s1 = DoubleVector.fromArray(D, fineSin, fo + i);
                DoubleVector c = c0.mul(c1).sub(s0.mul(s1));
                DoubleVector s = s0.mul(c1).add(c0.mul(s1)).mul(direction);
                if (adjacent) {
                    int a = off + 2 * i;
                    turnAdjacent(x, a, c.rearrange(LOW), s.rearrange(LOW).mul(SIGN));
                    turnAdjacent(x, a + N, c.rearrange(HIGH), s.rearrange(HIGH).mul(SIGN));
                } else {
                    int a = off + i, b = off + half + i;
                    DoubleVector x0 = widen(x, a), x1 = widen(x, b);
                    narrow(x0.mul(c).sub(x1.mul(s)), x, a);
                    narrow(x0.mul(s).add(x1.mul(c)), x, b);
                }
            }
        }
        for (; i < half; i++) { // the pairs left over, as the scalar twin
            double c0 = coarse[i], s0 = coarse[half + i], c1 = fineCos[fo + i], s1 = fineSin[fo + i];
            double c = c0 * c1 - s0 * s1;
            double s = direction * (s0 * c1 + c0 * s1);
            int a = off + (adjacent ? 2 * i : i), b = off + (adjacent ? 2 * i + 1 : i + half);
            double x0 = x[a], x1 = x[b];
            x[a] = (float) (x0 * c - x1 * s);
            x[b] = (float) (x0 * s + x1 * c);
        }
    }

    /** N adjacent elements at {@code a} (N / 2 pairs): {@code X C + Xs S'}, S' the signed sines spread per pair. */
    private static void turnAdjacent(float[] x, int a, DoubleVector c, DoubleVector signedS) {
        DoubleVector v = widen(x, a);
        narrow(v.mul(c).add(v.rearrange(SWAP).mul(signedS)), x, a);
    }

    private static DoubleVector widen(float[] x, int at) {
        return (DoubleVector) FloatVector.fromArray(FH, x, at).convertShape(VectorOperators.F2D, D, 0);
    }

    private static void narrow(DoubleVector v, float[] x, int at) {
        ((FloatVector) v.convertShape(VectorOperators.D2F, FH, 0)).intoArray(x, at);
    }
}
