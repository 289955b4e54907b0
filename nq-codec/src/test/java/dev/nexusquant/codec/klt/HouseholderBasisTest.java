package dev.nexusquant.codec.klt;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HouseholderBasisTest {

    /** Orthonormal directions: the eigenvectors of a random symmetric matrix, [dim][dim]. */
    static double[] directions(int dim, long seed) {
        return SymmetricEigen.of(SymmetricEigenTest.randomSymmetric(dim, seed), dim).vectors();
    }

    @Test
    void orthonormalWithExactInverseAtEveryRank() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int dim : new int[]{8, 64, 128}) {
            double[] d = directions(dim, dim);
            for (int rank : new int[]{0, 8, dim / 2, dim}) {
                HouseholderBasis h = HouseholderBasis.fit(d, dim, dim, rank);
                // columns of Q^T: the images of the unit vectors are orthonormal
                float[] q = new float[dim * dim];
                for (int i = 0; i < dim; i++) {
                    q[i * dim + i] = 1f;
                    h.forward(q, i * dim);
                }
                for (int i = 0; i < dim; i++) {
                    for (int j = 0; j < dim; j++) {
                        double s = 0;
                        for (int k = 0; k < dim; k++) s += (double) q[i * dim + k] * q[j * dim + k];
                        assertEquals(i == j ? 1 : 0, s, 2e-6, "dim " + dim + " rank " + rank + " (" + i + "," + j + ")");
                    }
                }
                // inverse(forward(x)) = x to fp32 rounding
                float[] x = new float[dim];
                for (int i = 0; i < dim; i++) x[i] = (float) (rnd.nextGaussian() * 10);
                float[] y = x.clone();
                h.forward(y, 0);
                h.inverse(y, 0);
                double err = 0, norm = 0;
                for (int i = 0; i < dim; i++) {
                    err = Math.max(err, Math.abs(y[i] - x[i]));
                    norm = Math.max(norm, Math.abs(x[i]));
                }
                assertTrue(err <= 2 * (rank + 1) * Math.ulp((float) norm), // a few roundings per reflector, each way
                        "round trip error " + err + " at dim " + dim + " rank " + rank);
            }
        }
    }

    @Test
    void leadingCoefficientsAreTheProjectionsOnTheDirections() {
        int dim = 64, rank = 24;
        double[] d = directions(dim, 11);
        HouseholderBasis h = HouseholderBasis.fit(d, dim, dim, rank);
        SplittableRandom rnd = new SplittableRandom(5);
        float[] x = new float[dim];
        for (int i = 0; i < dim; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = x.clone();
        h.forward(y, 0);
        for (int j = 0; j < rank; j++) {
            double p = 0;
            for (int k = 0; k < dim; k++) p += d[k * dim + j] * x[k];
            assertEquals(Math.abs(p), Math.abs(y[j]), 5e-3 * Math.sqrt(dim), "coefficient " + j); // fp16 reflectors
        }
    }

    @Test
    void restoredBasisIsTheSameTransformBitForBit() {
        int dim = 128, rank = 40;
        HouseholderBasis h = HouseholderBasis.fit(directions(dim, 2), dim, dim, rank);
        HouseholderBasis r = HouseholderBasis.restore(dim, rank, h.stored());
        assertEquals(2L * HouseholderBasis.storedValues(dim, rank), h.bytes());
        SplittableRandom rnd = new SplittableRandom(9);
        float[] x = new float[dim];
        for (int i = 0; i < dim; i++) x[i] = (float) rnd.nextGaussian();
        float[] a = x.clone(), b = x.clone();
        h.forward(a, 0);
        r.forward(b, 0);
        assertArrayEquals(a, b);
        h.inverse(a, 0);
        r.inverse(b, 0);
        assertArrayEquals(a, b);
    }

    @Test
    void badInputIsNamed() {
        assertThrows(IllegalArgumentException.class, () -> HouseholderBasis.restore(8, 2, new short[3]));
        assertThrows(IllegalArgumentException.class, () -> HouseholderBasis.fit(new double[64], 8, 8, 9));
        short[] nan = new short[HouseholderBasis.storedValues(8, 1)];
        nan[0] = Float.floatToFloat16(Float.NaN);
        var e = assertThrows(IllegalArgumentException.class, () -> HouseholderBasis.restore(8, 1, nan));
        assertTrue(e.getMessage().contains("NaN"));
    }
}
