package dev.nexusquant.kv;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RopeKernels} with the Vector API: per row, a vector of pairs at a time, the pairs' elements gathered from the
 * row by the tables' index arrays (any pair convention, partial rotary included), widened to double, turned by the
 * cosines and sines made by angle addition from the two tables, and narrowed to float once: the same operations in
 * the same order as {@link RopeAngles#forward}, so the same bits; the pairs past the last full vector are turned by
 * the same scalar code. Rows at a negative position (not a cache position) take the exact rotation, as there.
 */
final class VectorRopeKernels implements RopeKernels {

    static final VectorRopeKernels INSTANCE = new VectorRopeKernels();

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    private VectorRopeKernels() {
    }

    @Override
    public void forwardRows(RopeAngles t, float[] x, int n, int dim, int[] pos) {
        int half = t.pairs(), lanes = D.length(), bound = D.loopBound(half);
        int[] first = t.firstIndex(), second = t.secondIndex();
        double[] fineCos = t.fineCos(), fineSin = t.fineSin();
        for (int r = 0; r < n; r++) {
            int p = pos[r], off = r * dim;
            if (p < 0) {
                t.forward(x, off, p);
                continue;
            }
            double[] cb = t.coarse(p >>> RopeAngles.FINE_BITS);
            int fo = (p & (RopeAngles.FINE - 1)) * half;
            int i = 0;
            for (; i < bound; i += lanes) {
                DoubleVector c0 = DoubleVector.fromArray(D, cb, i), s0 = DoubleVector.fromArray(D, cb, half + i);
                DoubleVector c1 = DoubleVector.fromArray(D, fineCos, fo + i), s1 = DoubleVector.fromArray(D, fineSin, fo + i);
                DoubleVector c = c0.mul(c1).sub(s0.mul(s1));
                DoubleVector s = s0.mul(c1).add(c0.mul(s1));
                DoubleVector x0 = (DoubleVector) FloatVector.fromArray(F, x, off, first, i).convertShape(VectorOperators.F2D, D, 0);
                DoubleVector x1 = (DoubleVector) FloatVector.fromArray(F, x, off, second, i).convertShape(VectorOperators.F2D, D, 0);
                FloatVector a = (FloatVector) x0.mul(c).sub(x1.mul(s)).convertShape(VectorOperators.D2F, F, 0);
                FloatVector b = (FloatVector) x0.mul(s).add(x1.mul(c)).convertShape(VectorOperators.D2F, F, 0);
                a.intoArray(x, off, first, i);
                b.intoArray(x, off, second, i);
            }
            for (; i < half; i++) t.turnPair(x, off, i, cb, fo, 1.0);
        }
    }
}
