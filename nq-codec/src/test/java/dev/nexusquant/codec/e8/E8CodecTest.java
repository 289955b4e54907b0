package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.vector.Vectorization;
import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class E8CodecTest {

    private static final int[] DIMS = {8, 16, 24, 32, 40, 64, 72, 96, 128, 136, 192, 256, 512};

    @Test
    void bytesPerVectorCountsEveryCodeAndScale() {
        assertEquals(2 + 16 * 2, E8Codec.of(128, 2).bytesPerVector());
        assertEquals(2.125, E8Codec.of(128, 2).bitsPerValue());
        assertEquals(2 + 8, E8Codec.of(64, 1).bytesPerVector());
        assertEquals(2 + 8 * 2 + 8, E8Codec.of(64, 3).bytesPerVector());
        assertEquals(2 + 16 * 4, E8Codec.of(128, 4).bytesPerVector());
        assertEquals(4 * 2 + 16 * 2, E8Codec.of(128, 2, 32).bytesPerVector());
        for (int bits = 1; bits <= 4; bits++) {
            E8Codec c = E8Codec.of(128, bits, 64);
            assertEquals(bits + 16.0 / 64, c.bitsPerValue(), 1e-12);
            assertEquals(8.0 * c.bytesPerVector() / 128, c.bitsPerValue(), 1e-12);
        }
    }

    @Test
    void rejectsBadShapesAndValues() {
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(12, 2));
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(0, 2));
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(64, 0));
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(64, 5));
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(64, 2, 24));
        assertThrows(IllegalArgumentException.class, () -> E8Codec.of(64, 2, 128));
        E8Codec c = E8Codec.of(64, 2);
        float[] x = new float[64];
        x[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> c.encode(x, 0, new byte[c.bytesPerVector()], 0));
        x[3] = Float.POSITIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> c.encode(x, 0, new byte[c.bytesPerVector()], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.encode(new float[63], 0, new byte[c.bytesPerVector()], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.encode(new float[64], 0, new byte[c.bytesPerVector() - 1], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.dot(new float[64], 1, new byte[c.bytesPerVector()], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.decode(new byte[10], 0, 1, new float[64], 0));
    }

    @Test
    void zerosTinyAndHugeVectors() {
        for (int bits = 1; bits <= 4; bits++) {
            E8Codec c = E8Codec.of(64, bits);
            byte[] codes = new byte[c.bytesPerVector()];
            float[] out = new float[64];
            c.encode(new float[64], 0, codes, 0);
            c.decode(codes, 0, out, 0);
            assertArrayEquals(new float[64], out, "zeros decode to zeros");
            float[] tiny = new float[64];
            tiny[5] = 1e-30f;
            c.encode(tiny, 0, codes, 0);
            c.decode(codes, 0, out, 0);
            for (float v : out) assertTrue(Math.abs(v) < 1e-6f);
            float[] huge = new float[64];
            Arrays.fill(huge, 3e4f);
            huge[0] = -1e6f;
            c.encode(huge, 0, codes, 0);
            c.decode(codes, 0, out, 0);
            for (float v : out) assertTrue(Float.isFinite(v), "finite decode of huge values");
            assertTrue(out[9] > 1e4f, "large values keep their sign and size: " + out[9]);
        }
    }

    @Test
    void encodeIsDeterministicAndErrorIsSmallOnGaussianData() {
        long seed = TestSeeds.seed("encodeIsDeterministicAndErrorIsSmallOnGaussianData");
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] expected = {0, 0.316, 0.089, 0.028, 0.0075}; // relative error of the SNRs in E8CodecQualityTest
        for (int bits = 1; bits <= 4; bits++) {
            for (int d : new int[]{64, 128}) {
                E8Codec c = E8Codec.of(d, bits);
                double sum = 0;
                int n = 60;
                for (int t = 0; t < n; t++) {
                    float[] x = new float[d];
                    float sigma = (float) Math.exp(rnd.nextDouble(-6, 6));
                    for (int i = 0; i < d; i++) x[i] = (float) rnd.nextGaussian() * sigma;
                    byte[] a = new byte[c.bytesPerVector()];
                    byte[] b = new byte[c.bytesPerVector()];
                    c.encode(x, 0, a, 0);
                    c.encode(x, 0, b, 0);
                    assertArrayEquals(a, b);
                    double ss = 0;
                    for (float v : x) ss += v * v;
                    double rel = c.squaredError(x, 0) / ss;
                    sum += rel;
                    assertTrue(rel < 3 * expected[bits], "bits=" + bits + " d=" + d + " relative error " + rel + " seed=" + seed);
                }
                assertTrue(sum / n < 1.2 * expected[bits], "bits=" + bits + " d=" + d + " mean relative error " + sum / n + " seed=" + seed);
            }
        }
    }

    @Test
    void theScaleSearchIsNoWorseThanTheCentreScale() {
        long seed = TestSeeds.seed("theScaleSearchIsNoWorseThanTheCentreScale");
        SplittableRandom rnd = new SplittableRandom(seed);
        // with a single candidate multiplier the search would be the centre scale; the full search must not lose
        for (int bits = 1; bits <= 4; bits++) {
            E8Codec c = E8Codec.of(128, bits);
            for (int t = 0; t < 30; t++) {
                float[] x = new float[128];
                for (int i = 0; i < 128; i++) x[i] = (float) rnd.nextGaussian();
                double searched = c.squaredError(x, 0);
                double ss = 0;
                for (float v : x) ss += v * v;
                float centre = E8Codec.toHalfScale((float) Math.sqrt(ss / 128) * E8Codec.RATIO[bits]);
                double atCentre = errorAtScale(c, x, centre);
                assertTrue(searched <= atCentre * (1 + 1e-6), "bits=" + bits + " searched " + searched + " > centre " + atCentre);
            }
        }
    }

    /** Error with a fixed scale: quantize every group of x / s by the codec's stages. */
    private static double errorAtScale(E8Codec c, float[] x, float s) {
        double err = 0;
        float[] z = new float[8];
        float[] p = new float[8];
        for (int g = 0; g < x.length / 8; g++) {
            for (int i = 0; i < 8; i++) z[i] = x[8 * g + i] / s;
            for (int st = 0; st < c.books.length; st++) {
                Codebook b = c.books[st] == E8Codec.BOOK_P16 ? E8P16.INSTANCE : E8Root8.INSTANCE;
                float w = c.weights[st];
                for (int i = 0; i < 8; i++) z[i] /= w;
                b.encode(z, 0, p, 0);
                for (int i = 0; i < 8; i++) z[i] = (z[i] - p[i]) * w;
            }
            for (int i = 0; i < 8; i++) err += (double) z[i] * z[i] * s * s;
        }
        return err;
    }

    @Test
    void vectorKernelsMatchScalarKernelsOnRandomCodes() {
        assumeTrue(Vectorization.enabled(), "Vector API not available");
        long seed = TestSeeds.seed("vectorKernelsMatchScalarKernelsOnRandomCodes");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int d : DIMS) {
            for (int bits = 1; bits <= 4; bits++) {
                for (int sg : new int[]{d, 8, d >= 32 && d % 32 == 0 ? 32 : 8}) {
                    E8Codec sc = E8Codec.scalar(d, bits, sg);
                    E8Codec ve = E8Codec.vectorized(d, bits, sg);
                    int n = sc.bytesPerVector();
                    for (int t = 0; t < 20; t++) {
                        int off = rnd.nextInt(7);
                        byte[] codes = new byte[off + n + 3];
                        if (t % 2 == 0) {
                            rnd.nextBytes(codes); // arbitrary bytes are valid codes; fix the scales to finite values
                            for (int k = 0; k < d / sg; k++) {
                                E8Codec.SHORT_LE.set(codes, off + 2 * k, Float.floatToFloat16((float) rnd.nextDouble(-3, 3)));
                            }
                        } else {
                            float[] x = new float[d];
                            for (int i = 0; i < d; i++) x[i] = (float) (rnd.nextGaussian() * (i % 13 == 0 ? 10 : 1));
                            sc.encode(x, 0, codes, off);
                            byte[] again = new byte[codes.length];
                            ve.encode(x, 0, again, off);
                            assertArrayEquals(Arrays.copyOfRange(codes, off, off + n), Arrays.copyOfRange(again, off, off + n));
                        }
                        int qOff = rnd.nextInt(5);
                        float[] q = new float[qOff + d];
                        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                        String where = "d=" + d + " bits=" + bits + " sg=" + sg + " t=" + t + " seed=" + seed;

                        float[] a = new float[d + 2];
                        float[] b = new float[d + 2];
                        sc.decode(codes, off, a, 1);
                        ve.decode(codes, off, b, 1);
                        assertArrayEquals(a, b, "decode " + where);

                        float w = (float) rnd.nextGaussian();
                        float[] accA = new float[d + 1];
                        for (int i = 0; i < accA.length; i++) accA[i] = (float) rnd.nextGaussian();
                        float[] accB = accA.clone();
                        sc.axpy(w, codes, off, accA, 1);
                        ve.axpy(w, codes, off, accB, 1);
                        assertArrayEquals(accA, accB, "axpy " + where);

                        float ds = sc.dot(q, qOff, codes, off);
                        float dv = ve.dot(q, qOff, codes, off);
                        double ref = 0;
                        double mag = 0;
                        for (int i = 0; i < d; i++) {
                            ref += (double) q[qOff + i] * a[1 + i];
                            mag += Math.abs((double) q[qOff + i] * a[1 + i]);
                        }
                        assertEquals(ref, ds, 1e-5 * mag + 1e-30, "scalar dot " + where);
                        assertEquals(ref, dv, 1e-5 * mag + 1e-30, "vector dot " + where);
                    }
                }
            }
        }
    }

    @Test
    void vectorEncoderMatchesScalarEncoderBitForBit() {
        assumeTrue(Vectorization.enabled(), "Vector API not available");
        long seed = TestSeeds.seed("vectorEncoderMatchesScalarEncoderBitForBit");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int d : DIMS) {
            for (int bits = 1; bits <= 4; bits++) {
                for (int sg : new int[]{d, 8, d % 24 == 0 ? 24 : 8}) {
                    E8Codec sc = E8Codec.scalar(d, bits, sg);
                    E8Codec ve = E8Codec.vectorized(d, bits, sg);
                    byte[] a = new byte[sc.bytesPerVector()];
                    byte[] b = new byte[sc.bytesPerVector()];
                    for (int t = 0; t < 40; t++) {
                        float[] x = new float[d];
                        int kind = t % 5;
                        for (int i = 0; i < d; i++) {
                            double g = rnd.nextGaussian();
                            x[i] = (float) switch (kind) {
                                case 0 -> g;                                           // Gaussian
                                case 1 -> g * g * g;                                   // heavy tails
                                case 2 -> (i % 17 == 0 ? 30 : 1) * g;                  // outlier channels
                                case 3 -> Math.round(g * 2) / 2.0;                     // lattice-like ties
                                default -> g * Math.exp(rnd.nextDouble(-30, 30));      // any magnitude
                            };
                        }
                        if (t == 7) x[rnd.nextInt(d)] = 3e38f;
                        sc.encode(x, 0, a, 0);
                        ve.encode(x, 0, b, 0);
                        assertArrayEquals(a, b, "d=" + d + " bits=" + bits + " sg=" + sg + " t=" + t + " seed=" + seed);
                    }
                }
            }
        }
    }

    @Test
    void batchedEncodeMatchesOneVectorAtATime() {
        long seed = TestSeeds.seed("batchedEncodeMatchesOneVectorAtATime");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int d : DIMS) {
            for (int bits = 1; bits <= 4; bits++) {
                for (int sg : new int[]{d, 8}) {
                    E8Codec c = E8Codec.of(d, bits, sg);
                    E8Codec sc = E8Codec.scalar(d, bits, sg);
                    int bpv = c.bytesPerVector();
                    // counts below, at and above a chunk of the batched encoder, and a lane batch cut in the middle
                    for (int count : new int[]{0, 1, 3, 17, 2 * E8Codec.CHUNK_GROUPS / Math.max(1, d / 8) + 5}) {
                        float[] x = new float[count * d + 3];
                        for (int i = 0; i < x.length; i++) {
                            double g = rnd.nextGaussian();
                            x[i] = (float) (i % 13 == 0 ? 0 : (i % 29 == 0 ? 40 * g : g));
                        }
                        if (count > 2) java.util.Arrays.fill(x, 3 + d, 3 + 2 * d, 0f); // a zero vector among them
                        byte[] batched = new byte[count * bpv + 5];
                        byte[] one = new byte[count * bpv + 5];
                        byte[] scalar = new byte[count * bpv + 5];
                        c.encode(x, 3, count, batched, 5);
                        sc.encode(x, 3, count, scalar, 5);
                        for (int v = 0; v < count; v++) c.encode(x, 3 + v * d, one, 5 + v * bpv);
                        String where = "d=" + d + " bits=" + bits + " sg=" + sg + " count=" + count + " seed=" + seed;
                        assertArrayEquals(one, batched, where);
                        assertArrayEquals(one, scalar, where);
                    }
                }
            }
        }
        E8Codec c = E8Codec.of(64, 2);
        assertThrows(IllegalArgumentException.class, () -> c.encode(new float[128], 0, -1, new byte[100], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.encode(new float[128], 0, 3, new byte[1000], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.encode(new float[128], 0, 2, new byte[2 * c.bytesPerVector() - 1], 0));
        float[] bad = new float[64 * 5];
        bad[64 * 3 + 7] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> c.encode(bad, 0, 5, new byte[5 * c.bytesPerVector()], 0));
    }

    @Test
    void descriptorRoundTripsAndRejectsMismatches() throws IOException {
        for (int bits = 1; bits <= 4; bits++) {
            E8Codec c = E8Codec.of(96, bits, 32);
            CodecDescriptor d = c.descriptor();
            assertEquals("e8", d.name());
            assertEquals(E8Codec.FORMAT_VERSION, d.version());
            E8Codec back = E8Codec.fromDescriptor(d);
            assertEquals(c.dimension(), back.dimension());
            assertEquals(c.codeBits(), back.codeBits());
            assertEquals(c.scaleGroup(), back.scaleGroup());
            assertEquals(c.bytesPerVector(), back.bytesPerVector());
            assertEquals(d, back.descriptor());
        }
        CodecDescriptor good = E8Codec.of(64, 2).descriptor();
        assertThrows(IOException.class, () -> E8Codec.fromDescriptor(new CodecDescriptor("q4_0", 1, 64, 1, good.bytesPerBlock(), good.parameters())));
        assertThrows(IOException.class, () -> E8Codec.fromDescriptor(new CodecDescriptor("e8", 99, 64, 1, good.bytesPerBlock(), good.parameters())));
        assertThrows(IOException.class, () -> E8Codec.fromDescriptor(new CodecDescriptor("e8", 1, 64, 1, good.bytesPerBlock() + 1, good.parameters())));
        byte[] p = good.parameters();
        for (int i = 0; i < p.length; i++) {
            byte[] bad = p.clone();
            bad[i] ^= (byte) 0x40;
            // every single corruption is either rejected or yields a codec of a different, consistent shape
            try {
                E8Codec c = E8Codec.fromDescriptor(new CodecDescriptor("e8", 1, 64, 1, good.bytesPerBlock(), bad));
                assertEquals(good.bytesPerBlock(), c.bytesPerBlock());
            } catch (IOException expected) {
                // fine
            }
        }
        assertThrows(IOException.class, () -> E8Codec.fromDescriptor(new CodecDescriptor("e8", 1, 64, 1, good.bytesPerBlock(), Arrays.copyOf(p, p.length - 1))));
        assertThrows(IOException.class, () -> E8Codec.fromDescriptor(new CodecDescriptor("e8", 1, 64, 1, good.bytesPerBlock(), Arrays.copyOf(p, p.length + 1))));
    }
}
