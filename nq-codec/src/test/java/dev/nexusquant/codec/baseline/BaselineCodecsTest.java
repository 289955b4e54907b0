package dev.nexusquant.codec.baseline;

import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.RowCodecs;
import dev.nexusquant.codec.CodedRows;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each baseline is tested for what defines it, so that the comparison with NexusQuant is fair. */
class BaselineCodecsTest {

    @Test
    void q4_0FollowsGgmlDefinition() {
        float[] x = new float[32];
        x[3] = -4f;   // largest magnitude, negative: d = -4 / -8 = 0.5
        x[0] = 1f;    // 1 / 0.5 + 8.5 = 10.5 -> 10 -> (10 - 8) * 0.5 = 1
        x[16] = 0.3f; // 0.6 + 8.5 = 9.1 -> 9 -> 0.5
        x[17] = 3.9f; // 7.8 + 8.5 = 16.3 -> min(15, 16) = 15 -> 3.5
        CodedRows e = CodedRows.encode(new Q4_0Codec(32), x, 0, 1);
        float[] y = new float[32];
        e.decode(0, 1, y, 0);
        assertEquals(1f, y[0]);
        assertEquals(-4f, y[3]);
        assertEquals(0.5f, y[16]);
        assertEquals(3.5f, y[17]);
        assertEquals(0f, y[5]); // 0 -> 8 -> 0
        assertEquals(16 + 2, e.bytes(), "16 bytes of nibbles + one fp16 scale");
        byte[] raw = e.blocks();
        assertEquals((byte) 0x0A, (byte) (raw[2] & 0x0F), "value 0 in the low nibble of byte 0");
        assertEquals(0x09, (raw[2] >>> 4) & 0x0F, "value 16 in the high nibble of byte 0");
    }

    @Test
    void q8_0FollowsGgmlDefinition() {
        float[] x = new float[32];
        x[0] = 127f;  // d = 1
        x[1] = -2.5f; // roundf: away from zero -> -3
        x[2] = 2.5f;  // -> 3
        x[3] = 0.49f; // -> 0
        float[] y = new float[32];
        CodedRows e = CodedRows.encode(new Q8_0Codec(32), x, 0, 1);
        e.decode(0, 1, y, 0);
        assertEquals(127f, y[0]);
        assertEquals(-3f, y[1]);
        assertEquals(3f, y[2]);
        assertEquals(0f, y[3]);
        assertEquals(34, e.bytes());
    }

    @Test
    void fp8E4M3KnownValuesAndRoundTrip() {
        assertEquals(0x38, Fp8E4M3Codec.encodeByte(1f) & 0xFF);
        assertEquals(0x7E, Fp8E4M3Codec.encodeByte(448f) & 0xFF);
        assertEquals(0x7E, Fp8E4M3Codec.encodeByte(1e6f) & 0xFF, "saturates");
        assertEquals(0xC0, Fp8E4M3Codec.encodeByte(-2f) & 0xFF);
        assertEquals(0x01, Fp8E4M3Codec.encodeByte(0x1p-9f) & 0xFF, "smallest subnormal");
        assertEquals(0x00, Fp8E4M3Codec.encodeByte(0x1p-11f) & 0xFF, "below half the smallest subnormal");
        for (int b = 0; b < 256; b++) {
            if ((b & 0x7F) == 0x7F) continue; // NaN
            float v = Fp8E4M3Codec.decodeByte((byte) b);
            assertEquals(v, Fp8E4M3Codec.decodeByte(Fp8E4M3Codec.encodeByte(v)), "code " + b);
        }
        assertEquals(1.125f, Fp8E4M3Codec.decodeByte(Fp8E4M3Codec.encodeByte(1.0625f + 1e-3f)), "rounds to nearest");
    }

    @Test
    void kiviGroupsKeysByChannelAndValuesByToken() {
        Random rnd = new Random(3);
        int dim = 64, n = 32;
        float[] x = new float[n * dim];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int t = 0; t < n; t++) x[t * dim + 5] *= 1000f; // an outlier CHANNEL
        float[] k = decode(new KiviCodec(dim, 4, true), x, n);
        float[] v = decode(new KiviCodec(dim, 4, false), x, n);
        // per-channel grouping isolates the outlier channel: other channels keep a small error
        assertTrue(rmsOutside(x, k, dim, 5) < 0.2, "keys per channel " + rmsOutside(x, k, dim, 5));
        // per-token grouping (groups of 32 channels) lets the outlier channel wipe out its group
        assertTrue(rmsOutside(x, v, dim, 5) > 0.8, "values per token " + rmsOutside(x, v, dim, 5));

        float[] y = x.clone();
        for (int c = 0; c < dim; c++) y[7 * dim + c] = x[7 * dim + c] * 1000f; // an outlier TOKEN
        for (int t = 0; t < n; t++) y[t * dim + 5] = x[t * dim + 5] / 1000f;
        float[] v2 = decode(new KiviCodec(dim, 4, false), y, n);
        double err = 0;
        for (int t = 0; t < n; t++) {
            if (t == 7) continue;
            for (int c = 0; c < dim; c++) err = Math.max(err, Math.abs(v2[t * dim + c] - y[t * dim + c]));
        }
        assertTrue(err < 0.6, "per-token value groups are not disturbed by another token: " + err);
    }

    @Test
    void lloydMaxLevelsAndDistortionMatchTheGaussianOptimum() {
        float[] l2 = LloydMax.levels(2);
        assertEquals(0.4528, l2[2], 2e-3);
        assertEquals(1.5104, l2[3], 2e-3);
        Random rnd = new Random(4);
        double[] want = {0, 0.3634, 0.1175, 0.03454, 0.009497};
        for (int bits = 1; bits <= 4; bits++) {
            float[] lv = LloydMax.levels(bits);
            double mse = 0;
            int n = 200_000;
            for (int i = 0; i < n; i++) {
                float g = (float) rnd.nextGaussian();
                float e = g - lv[LloydMax.nearest(lv, g)];
                mse += e * e;
            }
            mse /= n;
            assertEquals(want[bits], mse, want[bits] * 0.03, "bits " + bits);
        }
    }

    @Test
    void everyCodecCountsItsBytesAndReconstructsReasonably() {
        String[] names = {"fp16", "fp8", "q8_0", "q4_0", "kivi2", "kivi4", "tq2", "tq2.5", "tq3.5", "tq4", "e8:2", "e8:4"};
        double[] maxRel = {1e-3, 0.05, 0.02, 0.15, 0.6, 0.15, 0.45, 0.35, 0.2, 0.12, 0.35, 0.1};
        Random rnd = new Random(5);
        for (int dim : new int[]{32, 64, 128}) {
            for (int i = 0; i < names.length; i++) {
                for (boolean keys : new boolean[]{true, false}) {
                    VectorCompressor c = RowCodecs.create(names[i], dim, keys);
                    int n = 1 + rnd.nextInt(100);
                    float[] x = new float[n * dim];
                    for (int j = 0; j < x.length; j++) x[j] = (float) rnd.nextGaussian();
                    CodedRows e = CodedRows.encode(c, x, 0, n);
                    assertEquals(CodedRows.bytesFor(c, n), e.bytes(), names[i] + " dim " + dim);
                    long blocks = (n + c.vectorsPerBlock() - 1) / c.vectorsPerBlock();
                    assertEquals(blocks * c.bytesPerBlock(), e.bytes(), names[i] + ": every byte of every block");
                    assertEquals(n, e.rows());
                    float[] y = new float[n * dim];
                    e.decode(0, n, y, 0);
                    double num = 0, den = 0;
                    for (int j = 0; j < x.length; j++) {
                        num += (x[j] - y[j]) * (double) (x[j] - y[j]);
                        den += x[j] * (double) x[j];
                    }
                    double rel = Math.sqrt(num / den);
                    assertTrue(rel < maxRel[i], names[i] + " dim " + dim + " relative error " + rel);
                    // partial decode equals the full decode
                    int from = rnd.nextInt(n);
                    float[] part = new float[dim];
                    e.decode(from, 1, part, 0);
                    for (int j = 0; j < dim; j++) assertEquals(y[from * dim + j], part[j], names[i]);
                }
            }
        }
    }

    @Test
    void unknownCodecNamesAreRejectedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowCodecs.validate("q3_7"));
        assertTrue(e.getMessage().contains("q3_7"));
    }

    private static float[] decode(VectorCompressor c, float[] x, int n) {
        float[] y = new float[x.length];
        CodedRows.encode(c, x, 0, n).decode(0, n, y, 0);
        return y;
    }

    @Test
    void fusedDotAndAxpyAgreeWithDecoding() {
        Random rnd = new Random(6);
        for (String name : new String[]{"fp16", "fp8", "q8_0", "q4_0", "kivi2", "tq3.5", "e8:2", "e8:3"}) {
            for (boolean keys : new boolean[]{true, false}) {
                VectorCompressor c = RowCodecs.create(name, 64, keys);
                float[] x = new float[c.vectorsPerBlock() * 64];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                byte[] block = new byte[c.bytesPerBlock() + 3];
                c.encodeBlock(x, 0, block, 3);
                int idx = c.vectorsPerBlock() - 1;
                float[] dec = new float[64], q = new float[64], acc = new float[64];
                c.decode(block, 3, idx, dec, 0);
                double want = 0;
                for (int i = 0; i < 64; i++) {
                    q[i] = (float) rnd.nextGaussian();
                    want += q[i] * dec[i];
                }
                assertEquals(want, c.dot(q, 0, block, 3, idx), 1e-3, name);
                c.axpy(0.5f, block, 3, idx, acc, 0);
                for (int i = 0; i < 64; i++) assertEquals(0.5f * dec[i], acc[i], 1e-5f, name);
            }
        }
    }

    private static double rmsOutside(float[] x, float[] y, int dim, int skip) {
        double s = 0;
        int cnt = 0;
        for (int i = 0; i < x.length; i++) {
            if (i % dim == skip) continue;
            s += (x[i] - y[i]) * (double) (x[i] - y[i]);
            cnt++;
        }
        return Math.sqrt(s / cnt);
    }
}
