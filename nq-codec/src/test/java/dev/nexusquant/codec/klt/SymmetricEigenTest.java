package dev.nexusquant.codec.klt;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SymmetricEigenTest {

    static double[] randomSymmetric(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] b = new double[n * n];
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextGaussian();
        double[] a = new double[n * n]; // B B^T: symmetric positive semi-definite
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
                a[i * n + j] = s;
            }
        }
        return a;
    }

    @Test
    void eigenpairsOfRandomMatricesOfSeveralSizes() {
        for (int n : new int[]{1, 2, 3, 8, 17, 64, 128}) {
            double[] a = randomSymmetric(n, 7 + n);
            SymmetricEigen e = SymmetricEigen.of(a, n);
            double scale = 0;
            for (double x : a) scale = Math.max(scale, Math.abs(x));
            for (int j = 0; j < n; j++) {
                if (j > 0) assertTrue(e.values()[j - 1] >= e.values()[j], "descending at " + j);
                for (int i = 0; i < n; i++) { // (A v)_i = lambda v_i
                    double av = 0;
                    for (int k = 0; k < n; k++) av += a[i * n + k] * e.vectors()[k * n + j];
                    assertEquals(e.values()[j] * e.vectors()[i * n + j], av, 1e-9 * scale * n, "n=" + n + " pair " + j);
                }
                for (int m = 0; m < n; m++) { // orthonormal columns
                    double d = 0;
                    for (int k = 0; k < n; k++) d += e.vectors()[k * n + j] * e.vectors()[k * n + m];
                    assertEquals(j == m ? 1 : 0, d, 1e-10);
                }
            }
        }
    }

    @Test
    void diagonalMatrixGivesItsEntriesSorted() {
        double[] a = {1, 0, 0, 0, 5, 0, 0, 0, 3};
        SymmetricEigen e = SymmetricEigen.of(a, 3);
        assertEquals(5, e.values()[0], 0);
        assertEquals(3, e.values()[1], 0);
        assertEquals(1, e.values()[2], 0);
        assertEquals(1, Math.abs(e.vectors()[1 * 3 + 0]), 0);
    }

    @Test
    void badInputIsNamed() {
        var e1 = assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[]{1, 2, 3, 4}, 2));
        assertTrue(e1.getMessage().contains("not symmetric"), e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[]{1, Double.NaN, Double.NaN, 1}, 2));
        assertTrue(e2.getMessage().contains("NaN"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[5], 2));
    }
}
