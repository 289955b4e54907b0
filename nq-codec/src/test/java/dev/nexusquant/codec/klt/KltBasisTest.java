package dev.nexusquant.codec.klt;

import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.e8.E8MixedCodec;
import dev.nexusquant.codec.hadamard.HadamardRotation;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KltBasisTest {

    /** [n][dim] rows near a random subspace of dimension k (decaying spectrum), plus a little isotropic noise. */
    static float[] lowRank(int n, int dim, int k, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] dirs = HouseholderBasisTest.directions(dim, seed);
        float[] x = new float[n * dim];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < k; j++) {
                double c = rnd.nextGaussian() * 10 / (1 + j);
                for (int i = 0; i < dim; i++) x[r * dim + i] += (float) (c * dirs[i * dim + j]);
            }
            for (int i = 0; i < dim; i++) x[r * dim + i] += (float) (0.01 * rnd.nextGaussian());
        }
        return x;
    }

    static double codedError(float[] x, int n, int dim, java.util.function.Consumer<float[]> fwd,
                             java.util.function.Consumer<float[]> inv, VectorCompressor c) {
        byte[] b = new byte[c.bytesPerBlock()];
        double e = 0;
        for (int r = 0; r < n; r++) {
            float[] row = java.util.Arrays.copyOfRange(x, r * dim, (r + 1) * dim);
            float[] y = row.clone();
            fwd.accept(y);
            c.encodeBlock(y, 0, b, 0);
            c.decode(b, 0, 0, y, 0);
            inv.accept(y);
            for (int i = 0; i < dim; i++) e += (y[i] - row[i]) * (y[i] - row[i]);
        }
        return e;
    }

    @Test
    void lowRankRowsKeepFewComponentsAndBeatHadamardAtEqualBytes() {
        int dim = 128, n = 1024, k = 12;
        float[] x = lowRank(n, dim, k, 4);
        E8Codec ref = E8Codec.of(dim, 2);
        KltBasis klt = KltBasis.fit(x, n, dim, ref.bytesPerBlock(), n);
        assertTrue(klt.rank() >= 16 && klt.rank() < dim, "rank " + klt.rank());
        E8MixedCodec c = klt.codecFor(ref.bytesPerBlock());
        // rows + basis within the reference codec's bytes
        assertTrue((long) n * c.bytesPerBlock() + klt.bytes() <= (long) n * ref.bytesPerBlock(),
                n * c.bytesPerBlock() + klt.bytes() + " > " + n * ref.bytesPerBlock());
        HadamardRotation h = new HadamardRotation(dim, 1);
        double eh = codedError(x, n, dim, y -> h.forward(y, 0), y -> h.inverse(y, 0), ref);
        double ek = codedError(x, n, dim, y -> klt.forward(y, 0), y -> klt.inverse(y, 0), c);
        assertTrue(ek < 0.25 * eh, "klt " + ek + " vs hadamard " + eh);
    }

    @Test
    void restoredBasisGivesTheSameCodecAndTransform() {
        int dim = 64, n = 300;
        float[] x = lowRank(n, dim, 20, 8);
        KltBasis a = KltBasis.fit(x, n, dim, 2 + 16, n);
        KltBasis b = KltBasis.restore(dim, a.stored(), a.sigmas(), a.reserve());
        assertEquals(a.codecFor(18).descriptor(), b.codecFor(18).descriptor());
        assertEquals(a.codecFor(34).descriptor(), b.codecFor(34).descriptor());
        float[] p = java.util.Arrays.copyOf(x, dim), q = p.clone();
        a.forward(p, 0);
        b.forward(q, 0);
        assertArrayEquals(p, q);
        assertEquals(a.bytes(), b.bytes());
    }

    @Test
    void constantAndDegenerateRowsAreHandled() {
        int dim = 16;
        // all-zero rows (centred constant rows): nothing to code, rows decode exactly
        KltBasis zero = KltBasis.fit(new float[10 * dim], 10, dim, 2 + 2 * 2, 10);
        assertEquals(0, zero.rank());
        E8MixedCodec c = zero.codecFor(6);
        assertEquals(2, c.bytesPerBlock());
        float[] y = new float[dim];
        byte[] b = new byte[c.bytesPerBlock()];
        c.encodeBlock(new float[dim], 0, b, 0);
        c.decode(b, 0, 0, y, 0);
        assertArrayEquals(new float[dim], y);
        // one repeated nonzero row (not centred): a single direction
        float[] rep = new float[20 * dim];
        for (int r = 0; r < 20; r++) for (int i = 0; i < dim; i++) rep[r * dim + i] = i - 7.5f;
        KltBasis one = KltBasis.fit(rep, 20, dim, 2 + 4, 20);
        assertTrue(one.rank() <= 8);
        // no rows at all
        assertEquals(0, KltBasis.fit(new float[0], 0, dim, 6, 1).rank());
        float[] nan = new float[dim];
        nan[2] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> KltBasis.fit(nan, 1, dim, 6, 1));
        assertTrue(e.getMessage().contains("NaN"));
        assertThrows(IllegalArgumentException.class, () -> KltBasis.fit(new float[12], 1, 12, 6, 1));
    }
}
