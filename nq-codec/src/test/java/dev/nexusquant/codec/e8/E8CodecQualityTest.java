package dev.nexusquant.codec.e8;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The measured claim: on unit-variance Gaussian data, at the same stored bits per value (codes plus one fp16 scale
 * per vector of 128 for both), the E8 codec's SNR beats the best uniform scalar quantizer's (its step chosen per
 * vector by a dense search) by at least 0.4 dB at 2 bits per value (theory: E8's granular gain is 0.65 dB; a
 * spherical 16-bit codebook adds shaping gain over a scalar quantizer's cube). The figures for 1, 3 and 4 bits are
 * printed and recorded in BENCHMARKS.md. Fixed seed: the figures are reproducible.
 */
class E8CodecQualityTest {

    static final int DIM = 128;
    static final int VECTORS = 3000;

    static float[] gaussian(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    static double snrE8(float[] x, int bits) {
        E8Codec c = E8Codec.of(DIM, bits);
        byte[] codes = new byte[c.bytesPerVector()];
        float[] out = new float[DIM];
        double err = 0;
        double sig = 0;
        for (int v = 0; v < x.length / DIM; v++) {
            c.encode(x, v * DIM, codes, 0);
            c.decode(codes, 0, out, 0);
            for (int i = 0; i < DIM; i++) {
                double d = x[v * DIM + i] - out[i];
                err += d * d;
                sig += (double) x[v * DIM + i] * x[v * DIM + i];
            }
        }
        return 10 * Math.log10(sig / err);
    }

    static double snrUniform(float[] x, int bits) {
        UniformScalar u = new UniformScalar(bits);
        double err = 0;
        double sig = 0;
        for (int v = 0; v < x.length / DIM; v++) {
            float step = u.bestStep(x, v * DIM, DIM);
            err += u.squaredError(x, v * DIM, DIM, step);
            for (int i = 0; i < DIM; i++) sig += (double) x[v * DIM + i] * x[v * DIM + i];
        }
        return 10 * Math.log10(sig / err);
    }

    @Test
    void e8BeatsTheBestUniformScalarQuantizerAtEqualBits() {
        float[] x = gaussian(20240601L, VECTORS * DIM);
        StringBuilder table = new StringBuilder("| code bits/value | stored bits/value | E8 SNR dB | uniform SNR dB | gain dB |\n");
        double gain2 = 0;
        for (int bits = 1; bits <= 4; bits++) {
            double e8 = snrE8(x, bits);
            double un = snrUniform(x, bits);
            double stored = E8Codec.of(DIM, bits).bitsPerValue();
            table.append(String.format("| %d | %.3f | %.2f | %.2f | %+.2f |%n", bits, stored, e8, un, e8 - un));
            if (bits == 2) gain2 = e8 - un;
        }
        System.out.print(table);
        assertTrue(gain2 >= 0.4, "E8 gain over uniform scalar at 2 bits/value is only " + gain2 + " dB");
    }

    /**
     * Where the scale search puts the codebook: the share of 8-value groups whose nearest lattice point lies outside
     * E8P16's ball at the chosen scale (they need the exact search over the codebook). A search that keeps every
     * group inside the ball, or most of them outside, would be far from the best error.
     */
    @Test
    void shareOfGroupsOutsideTheBallAtTheChosenScale() {
        float[] x = gaussian(20240601L, 1000 * DIM);
        float[] z = new float[8];
        float[] p = new float[8];
        float[] y = new float[8];
        for (int bits = 2; bits <= 4; bits++) {
            E8Codec c = E8Codec.of(DIM, bits);
            byte[] codes = new byte[c.bytesPerVector()];
            long outside = 0;
            long groups = 0;
            for (int v = 0; v < x.length / DIM; v++) {
                c.encode(x, v * DIM, codes, 0);
                float s = c.scale(codes, 0, 0);
                for (int g = 0; g < DIM / 8; g++) {
                    for (int i = 0; i < 8; i++) {
                        z[i] = x[v * DIM + 8 * g + i] / s;
                        y[i] = z[i] - 0.25f;
                    }
                    E8Lattice.nearest(y, 0, y, 0);
                    E8P16.INSTANCE.encode(z, 0, p, 0);
                    boolean inside = true;
                    for (int i = 0; i < 8; i++) inside &= p[i] == y[i] + 0.25f;
                    if (!inside) outside++;
                    groups++;
                }
            }
            double share = (double) outside / groups;
            System.out.printf("%d bits: %.1f%% of first-stage groups outside the E8P16 ball at the chosen scale%n", bits, 100 * share);
            assertTrue(share > 0.05 && share < 0.6, bits + " bits: share outside the ball " + share);
        }
    }
}
