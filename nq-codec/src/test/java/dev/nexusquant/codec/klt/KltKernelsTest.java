package dev.nexusquant.codec.klt;

import dev.nexusquant.vector.Vectorization;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The explicit inverse of a KLT basis ({@link KltBasis#inverseRows}) and forward ({@link KltBasis#forwardRows}, the
 * same kernels on the transposed matrix): the vector kernel gives its scalar twin's bits,
 * and both give the rows the reflectors give ({@link KltBasis#inverse}) to float rounding, on seeded random bases and
 * rows whose trailing coefficients are zero as a mixed-rate codec leaves them (and on rows with scattered zeros).
 */
class KltKernelsTest {

    /** A basis fitted to random correlated rows (a random mixing of Gaussians with decaying variances). */
    static KltBasis randomBasis(SplittableRandom rnd, int dim) {
        int n = 4 * dim;
        float[] mix = new float[dim * dim];
        for (int i = 0; i < mix.length; i++) mix[i] = (float) rnd.nextGaussian();
        float[] x = new float[n * dim];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < dim; j++) {
                double z = rnd.nextGaussian() * Math.pow(0.8, j);
                for (int i = 0; i < dim; i++) x[r * dim + i] += (float) (z * mix[j * dim + i]);
            }
        }
        return KltBasis.fit(x, n, dim, 0, 0);
    }

    static float[] rows(SplittableRandom rnd, int n, int dim) {
        float[] y = new float[n * dim];
        for (int r = 0; r < n; r++) {
            int coded = 8 * rnd.nextInt(dim / 8 + 1);
            for (int j = 0; j < coded; j++) y[r * dim + j] = rnd.nextInt(5) == 0 ? 0f : (float) (rnd.nextGaussian() * 3);
        }
        return y;
    }

    @Test
    void matchesTheReflectors() {
        SplittableRandom rnd = new SplittableRandom(21);
        for (int dim : new int[]{8, 16, 24, 64, 128}) {
            KltBasis b = randomBasis(rnd, dim);
            int n = 7;
            float[] y = rows(rnd, n, dim);
            float[] fast = y.clone(), slow = y.clone();
            b.inverseRows(fast, 0, n, new float[2 * dim]); // two rows at a time (and a last one alone: n is odd)
            float[] three = y.clone();
            b.inverseRows(three, 0, n, new float[3 * dim]); // three at a time (and one left)
            assertArrayEquals(fast, three, "three rows at a time, dim " + dim);
            double scale = 0;
            for (float v : y) scale = Math.max(scale, Math.abs(v));
            for (int r = 0; r < n; r++) b.inverse(slow, r * dim);
            for (int i = 0; i < fast.length; i++) {
                assertEquals(slow[i], fast[i], 1e-5 * Math.max(1, scale), "dim " + dim + " value " + i);
            }
        }
    }

    /** The forward transform by the transposed matrix ({@link KltBasis#forwardRows}) against the reflectors. */
    @Test
    void forwardRowsMatchTheReflectors() {
        SplittableRandom rnd = new SplittableRandom(23);
        for (int dim : new int[]{8, 16, 24, 64, 128}) {
            KltBasis b = randomBasis(rnd, dim);
            int n = 9;
            float[] x = new float[n * dim];
            double scale = 0;
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextGaussian() * 2);
                scale = Math.max(scale, Math.abs(x[i]));
            }
            float[] fast = x.clone(), slow = x.clone();
            b.forwardRows(fast, 0, n, new float[dim]);
            for (int r = 0; r < n; r++) b.forward(slow, r * dim);
            for (int i = 0; i < fast.length; i++) {
                assertEquals(slow[i], fast[i], 1e-5 * Math.max(1, scale) * Math.sqrt(dim), "dim " + dim + " value " + i);
            }
            b.inverseRows(fast, 0, n, new float[dim]); // and back: the rows themselves
            for (int i = 0; i < fast.length; i++) {
                assertEquals(x[i], fast[i], 1e-5 * Math.max(1, scale) * Math.sqrt(dim), "round trip dim " + dim + " value " + i);
            }
        }
    }

    @Test
    void vectorKernelGivesTheScalarTwinsBits() {
        assumeTrue(Vectorization.enabled(), "Vector API not available");
        SplittableRandom rnd = new SplittableRandom(22);
        assertEquals("vector", KltKernels.preferred().name());
        for (int trial = 0; trial < 40; trial++) {
            // the first trials at 128 and 256 (multiples of 8 vectors at 256 and 512 bits: the register-blocked path)
            int dim = trial < 6 ? 128 * (1 + trial % 2) : 8 * (1 + rnd.nextInt(20));
            KltBasis b = randomBasis(rnd, dim);
            int n = 1 + rnd.nextInt(11), off = rnd.nextInt(3);
            float[] y = new float[off + n * dim];
            System.arraycopy(rows(rnd, n, dim), 0, y, off, n * dim);
            // rows one, two and three at a time (scratch [dim], [2 dim], [3 dim]): each the scalar twin's bits
            int work = (1 + (trial / 2) % 3) * dim;
            float[] v = y.clone(), s = y.clone();
            KltKernels.preferred().inverse(b.columns(), dim, v, off, n, new float[work]);
            KltKernels.SCALAR.inverse(b.columns(), dim, s, off, n, new float[work]);
            assertArrayEquals(s, v, "trial " + trial + " dim " + dim + " work " + work);
            // the forward matrix (rows of Q) through the same kernels: dense rows, no zero to skip
            float[] x = new float[off + n * dim];
            for (int i = off; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] fv = x.clone(), fs = x.clone();
            KltKernels.preferred().inverse(b.rowsOfQ(), dim, fv, off, n, new float[work]);
            KltKernels.SCALAR.inverse(b.rowsOfQ(), dim, fs, off, n, new float[work]);
            assertArrayEquals(fs, fv, "forward, trial " + trial + " dim " + dim);
        }
    }
}
