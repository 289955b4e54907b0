package dev.nexusquant.codec.e8;

import dev.nexusquant.vector.Vectorization;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The decode kernels of {@link E8MixedCodec}: the vector kernel and its scalar twin give the same bits on random rows
 * of random codes at random rates (seeded), and both agree with a decode written from the codebooks' own
 * {@code decode} (the definition of the format) to float rounding.
 */
class E8MixedKernelsTest {

    /** The format's definition: per group and stage the codebook point times s * sigma * RATIO[r] * weight. */
    static float[] reference(E8MixedCodec c, byte[] block) {
        int dim = c.dimension();
        float[] out = new float[dim], p = new float[8];
        float s = Float.float16ToFloat((short) E8Codec.SHORT_LE.get(block, 0));
        for (int g = 0; g < dim / 8; g++) {
            int r = c.rate(g);
            int at = c.codeAt[g];
            for (int st = 0; st < (r == 0 ? 0 : r <= 2 ? 1 : 2); st++) {
                boolean root8 = r == 1 || (r == 3 && st == 1);
                if (root8) {
                    E8Root8.INSTANCE.decode(block[at] & 0xff, p, 0);
                    at += 1;
                } else {
                    E8P16.INSTANCE.decode(E8Codec.code16(block, at), p, 0);
                    at += 2;
                }
                double w = (double) s * c.sigma(g) * E8Encoder.RATIO[r] * (st == 0 ? 1 : E8Codec.DEFAULT_WEIGHT[r]);
                for (int i = 0; i < 8; i++) out[8 * g + i] += (float) (w * p[i]);
            }
        }
        return out;
    }

    static E8MixedCodec randomCodec(SplittableRandom rnd, int dim) {
        byte[] rates = new byte[dim / 8];
        float[] sigma = new float[dim / 8];
        for (int g = 0; g < rates.length; g++) {
            rates[g] = (byte) rnd.nextInt(E8MixedCodec.MAX_RATE + 1);
            sigma[g] = (float) Math.exp(rnd.nextGaussian());
        }
        return new E8MixedCodec(dim, rates, sigma);
    }

    /** A row of random codes (every 8- and 16-bit code is a point) and a random positive fp16 scale. */
    static byte[] randomRow(SplittableRandom rnd, E8MixedCodec c) {
        byte[] b = new byte[c.bytesPerBlock()];
        for (int i = 2; i < b.length; i++) b[i] = (byte) rnd.nextInt(256);
        E8Codec.SHORT_LE.set(b, 0, Float.floatToFloat16((float) Math.exp(rnd.nextGaussian())));
        return b;
    }

    @Test
    void scalarTwinMatchesTheFormatsDefinition() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int dim = 8 * (1 + rnd.nextInt(24));
            E8MixedCodec c = randomCodec(rnd, dim).scalar();
            assertEquals("scalar", c.kernels());
            byte[] row = randomRow(rnd, c);
            float[] got = new float[dim + 3];
            c.decode(row, 0, 0, got, 3);
            float[] want = reference(c, row);
            for (int i = 0; i < dim; i++) {
                assertEquals(want[i], got[3 + i], 2e-6f * Math.max(1f, Math.abs(want[i])), "trial " + trial + " value " + i);
            }
        }
    }

    @Test
    void vectorKernelGivesTheScalarTwinsBits() {
        assumeTrue(Vectorization.enabled(), "Vector API not available");
        SplittableRandom rnd = new SplittableRandom(12);
        int checked = 0;
        for (int trial = 0; trial < 500; trial++) {
            int dim = 8 * (1 + rnd.nextInt(24));
            E8MixedCodec v = randomCodec(rnd, dim);
            assertEquals("vector", v.kernels());
            E8MixedCodec s = v.scalar();
            byte[] block = new byte[5 + 3 * v.bytesPerBlock()];
            int off = 5 + rnd.nextInt(2 * v.bytesPerBlock());
            System.arraycopy(randomRow(rnd, v), 0, block, off, v.bytesPerBlock());
            float[] a = new float[dim + 4], b = new float[dim + 4];
            java.util.Arrays.fill(a, Float.NaN); // every value is written, rate-0 groups as zeros
            java.util.Arrays.fill(b, Float.NaN);
            v.decode(block, off, 0, a, 2);
            s.decode(block, off, 0, b, 2);
            assertArrayEquals(b, a, "trial " + trial);
            for (int i = 2; i < dim + 2; i++) assertTrue(Float.isFinite(a[i]));
            checked += dim;
        }
        assertTrue(checked > 10_000);
    }
}
