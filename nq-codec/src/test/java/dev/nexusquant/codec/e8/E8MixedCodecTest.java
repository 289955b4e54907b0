package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.CodecDescriptor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class E8MixedCodecTest {

    static byte[] rates(int... r) {
        byte[] b = new byte[r.length];
        for (int i = 0; i < r.length; i++) b[i] = (byte) r[i];
        return b;
    }

    static float[] ones(int n) {
        float[] s = new float[n];
        java.util.Arrays.fill(s, 1f);
        return s;
    }

    /** Mean squared error per value over n rows of the codec on data x ([n][dim]). */
    static double mse(dev.nexusquant.codec.VectorCompressor c, float[] x, int n) {
        int dim = c.dimension();
        byte[] b = new byte[c.bytesPerBlock()];
        float[] y = new float[dim];
        double e = 0;
        for (int r = 0; r < n; r++) {
            c.encodeBlock(x, r * dim, b, 0);
            c.decode(b, 0, 0, y, 0);
            for (int i = 0; i < dim; i++) {
                double d = x[r * dim + i] - y[i];
                e += d * d;
            }
        }
        return e / ((double) n * dim);
    }

    @Test
    void bytesFollowTheRates() {
        E8MixedCodec c = new E8MixedCodec(32, rates(4, 3, 1, 0), ones(4));
        assertEquals(2 + 4 + 3 + 1, c.bytesPerBlock());
        assertEquals(2 + 2 * 16, new E8MixedCodec(128, rates(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2), ones(16)).bytesPerBlock());
    }

    /** codedDims: where the trailing groups of rate 0 start (an inner group of rate 0 does not end it). */
    @Test
    void codedDimsStopAtTheTrailingDroppedGroups() {
        assertEquals(24, new E8MixedCodec(32, rates(4, 3, 1, 0), ones(4)).codedDims());
        assertEquals(32, new E8MixedCodec(32, rates(4, 0, 1, 2), ones(4)).codedDims());
        assertEquals(8, new E8MixedCodec(32, rates(1, 0, 0, 0), ones(4)).codedDims());
        assertEquals(0, new E8MixedCodec(32, rates(0, 0, 0, 0), ones(4)).codedDims());
        E8MixedCodec c = new E8MixedCodec(32, rates(4, 0, 2, 0), ones(4));
        assertEquals(c.codedDims(), c.scalar().codedDims());
        SplittableRandom rnd = new SplittableRandom(8);
        float[] x = new float[32], y = new float[32];
        byte[] b = new byte[c.bytesPerBlock()];
        for (int t = 0; t < 50; t++) { // every value past codedDims decodes as exactly zero
            for (int i = 0; i < 32; i++) x[i] = (float) (rnd.nextGaussian() * 4);
            c.encodeBlock(x, 0, b, 0);
            c.decode(b, 0, 0, y, 0);
            for (int i = c.codedDims(); i < 32; i++) assertEquals(0, Float.floatToIntBits(y[i]), "value " + i);
        }
    }

    @Test
    void uniformRatesCodeAsWellAsTheE8Codec() {
        int dim = 128, n = 400;
        float[] x = new float[n * dim];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int bits = 1; bits <= 4; bits++) {
            byte[] r = new byte[16];
            java.util.Arrays.fill(r, (byte) bits);
            E8MixedCodec m = new E8MixedCodec(dim, r, ones(16));
            E8Codec e = E8Codec.of(dim, bits);
            assertEquals(e.bytesPerBlock(), m.bytesPerBlock());
            double em = mse(m, x, n), ee = mse(e, x, n);
            assertTrue(em < ee * 1.03, bits + " bits: mixed " + em + " vs e8 " + ee);
            assertTrue(Math.abs(em / E8MixedCodec.unitDistortion(bits) - 1) < 0.15, bits + " bits: " + em + " vs table " + E8MixedCodec.unitDistortion(bits));
        }
    }

    @Test
    void ratesByVarianceBeatUniformRatesOnASkewedSpectrum() {
        int dim = 64, n = 400;
        float[] sd = {16, 8, 4, 2, 1, 0.5f, 0.25f, 0.125f};
        float[] x = new float[n * dim];
        SplittableRandom rnd = new SplittableRandom(2);
        for (int r = 0; r < n; r++) for (int i = 0; i < dim; i++) x[r * dim + i] = (float) rnd.nextGaussian() * sd[i / 8];
        // 16 code bytes either way
        E8MixedCodec skewed = new E8MixedCodec(dim, rates(4, 4, 3, 2, 2, 1, 0, 0), sd);
        E8Codec flat = E8Codec.of(dim, 2);
        assertEquals(flat.bytesPerBlock(), skewed.bytesPerBlock());
        double es = mse(skewed, x, n), ef = mse(flat, x, n);
        assertTrue(es < 0.5 * ef, "by variance " + es + " vs flat " + ef);
    }

    @Test
    void droppedGroupsDecodeAsZeroAndZeroRowsRoundTrip() {
        E8MixedCodec c = new E8MixedCodec(16, rates(2, 0), ones(2));
        float[] x = new float[16];
        for (int i = 0; i < 16; i++) x[i] = i + 1;
        byte[] b = new byte[c.bytesPerBlock()];
        c.encodeBlock(x, 0, b, 0);
        float[] y = new float[16];
        c.decode(b, 0, 0, y, 0);
        for (int i = 8; i < 16; i++) assertEquals(0f, y[i]);
        c.encodeBlock(new float[16], 0, b, 0);
        c.decode(b, 0, 0, y, 0);
        assertArrayEquals(new float[16], y);
        // dot and axpy agree with decode
        c.encodeBlock(x, 0, b, 0);
        c.decode(b, 0, 0, y, 0);
        float[] q = new float[16];
        for (int i = 0; i < 16; i++) q[i] = 0.5f - i;
        float dot = 0f;
        for (int i = 0; i < 16; i++) dot += q[i] * y[i];
        assertEquals(dot, c.dot(q, 0, b, 0, 0), 1e-4f * Math.abs(dot));
        float[] acc = new float[16];
        c.axpy(2f, b, 0, 0, acc, 0);
        for (int i = 0; i < 16; i++) assertEquals(2f * y[i], acc[i], 1e-5f);
    }

    @Test
    void descriptorRecreatesTheCodec() throws Exception {
        E8MixedCodec c = new E8MixedCodec(24, rates(3, 1, 0), new float[]{2.5f, 0.75f, 1f});
        CodecDescriptor d = c.descriptor();
        E8MixedCodec r = E8MixedCodec.fromParameters(d.parameters());
        assertEquals(d, r.descriptor());
        assertThrows(java.io.IOException.class, () -> E8MixedCodec.fromParameters(new byte[]{0, 0, 0, 8, 9, 0, 0, 0, 0}));
    }

    @Test
    void badInputIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> new E8MixedCodec(16, rates(5, 0), ones(2)));
        assertTrue(e.getMessage().contains("rate"));
        e = assertThrows(IllegalArgumentException.class, () -> new E8MixedCodec(16, rates(1, 0), new float[]{0f, 1f}));
        assertTrue(e.getMessage().contains("sigma"));
        assertThrows(IllegalArgumentException.class, () -> new E8MixedCodec(12, rates(1), ones(1)));
        E8MixedCodec c = new E8MixedCodec(8, rates(2), ones(1));
        float[] x = new float[8];
        x[3] = Float.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> c.encodeBlock(x, 0, new byte[c.bytesPerBlock()], 0));
        assertTrue(e.getMessage().contains("NaN"));
    }
}
