package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Blocks written by hand from the format definitions (ggml-common.h) and the values they must decode to. */
class QuantsTest {

    static float[] decode(GgmlType t, byte[] block, int n) {
        float[] out = new float[n];
        Quants.dequantize(t, MemorySegment.ofArray(block), 0, out, 0, n);
        float[] vec = new float[n];
        Kernels.vector().dequantizeRows(new Weights("b", t, 1, n, MemorySegment.ofArray(block)), 0, 1, vec, 0);
        for (int i = 0; i < n; i++) assertEquals(out[i], vec[i], 0f, t + " vector decode " + i);
        return out;
    }

    static ByteBuffer block(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static short h(float f) {
        return Float.floatToFloat16(f);
    }

    @Test
    void q8_0() {
        ByteBuffer b = block(34).putShort(h(0.5f));
        for (int i = 0; i < 32; i++) b.put((byte) (i - 16));
        float[] x = decode(GgmlType.Q8_0, b.array(), 32);
        for (int i = 0; i < 32; i++) assertEquals(0.5f * (i - 16), x[i]);
    }

    @Test
    void q4_0() {
        ByteBuffer b = block(18).putShort(h(2f));
        for (int i = 0; i < 16; i++) b.put((byte) ((i & 15) | ((15 - i) << 4))); // low nibble i, high nibble 15-i
        float[] x = decode(GgmlType.Q4_0, b.array(), 32);
        for (int i = 0; i < 16; i++) {
            assertEquals(2f * (i - 8), x[i]);            // element i: low nibble of byte i, minus 8
            assertEquals(2f * (15 - i - 8), x[i + 16]);  // element i + 16: high nibble of byte i
        }
    }

    @Test
    void q4_K() {
        // d = 1, dmin = 0.5; sub-block j has scale sc[j] = j + 1 and min m[j] = 2j (j < 4: 6 bits in bytes j and j+4;
        // j >= 4: low 4 bits in byte j+4, high 2 bits in the top bits of bytes j-4 (scale) and j (min))
        int[] sc = {1, 2, 3, 4, 45, 46, 47, 63}, m = {0, 2, 4, 6, 33, 40, 50, 63};
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) sc[j];
            s[j + 4] = (byte) m[j];
        }
        for (int j = 4; j < 8; j++) {
            s[j + 4] = (byte) ((sc[j] & 15) | ((m[j] & 15) << 4));
            s[j - 4] |= (byte) ((sc[j] >> 4) << 6);
            s[j] |= (byte) ((m[j] >> 4) << 6);
        }
        ByteBuffer b = block(144).putShort(h(1f)).putShort(h(0.5f)).put(s);
        for (int i = 0; i < 128; i++) b.put((byte) ((i % 16) | ((15 - i % 16) << 4)));
        float[] x = decode(GgmlType.Q4_K, b.array(), 256);
        for (int j = 0; j < 4; j++) {       // 64 values per j: low nibbles (sub-block 2j), then high (2j+1)
            for (int l = 0; l < 32; l++) {
                int q = (32 * j + l) % 16;
                assertEquals(sc[2 * j] * q - 0.5f * m[2 * j], x[64 * j + l], 1e-6, "j=" + j + " l=" + l);
                assertEquals(sc[2 * j + 1] * (15 - q) - 0.5f * m[2 * j + 1], x[64 * j + 32 + l], 1e-6, "j=" + j + " l=" + l);
            }
        }
    }

    @Test
    void q6_K() {
        // element e has 6-bit value q[e] = e % 64, scale sc[e / 16] = e / 16 - 8, d = 0.25: x = 0.25 * sc * (q - 32)
        int[] q = new int[256];
        for (int e = 0; e < 256; e++) q[e] = e % 64;
        byte[] ql = new byte[128], qh = new byte[64];
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * half + l;
                int q1 = q[e], q2 = q[e + 32], q3 = q[e + 64], q4 = q[e + 96];
                ql[64 * half + l] = (byte) ((q1 & 15) | ((q3 & 15) << 4));
                ql[64 * half + 32 + l] = (byte) ((q2 & 15) | ((q4 & 15) << 4));
                qh[32 * half + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
        ByteBuffer b = block(210).put(ql).put(qh);
        for (int j = 0; j < 16; j++) b.put((byte) (j - 8));
        b.putShort(h(0.25f));
        float[] x = decode(GgmlType.Q6_K, b.array(), 256);
        for (int e = 0; e < 256; e++) assertEquals(0.25f * (e / 16 - 8) * (q[e] - 32), x[e], 1e-6, "e=" + e);
    }

    @Test
    void halfTypes() {
        ByteBuffer b = block(8).putShort(h(1.5f)).putShort(h(-2f)).putShort(h(65504f)).putShort((short) 0x0001);
        float[] x = decode(GgmlType.F16, b.array(), 4);
        assertEquals(1.5f, x[0]);
        assertEquals(-2f, x[1]);
        assertEquals(65504f, x[2]);
        assertEquals(0x1p-24f, x[3]); // smallest subnormal
        ByteBuffer bf = block(4).putShort((short) 0x3FC0).putShort((short) 0xC100); // 1.5, -8
        float[] y = decode(GgmlType.BF16, bf.array(), 2);
        assertEquals(1.5f, y[0]);
        assertEquals(-8f, y[1]);
    }

    @Test
    void quantizersRoundTripWithinTheirResolution() {
        Random r = new Random(3);
        float[] x = new float[1024];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        double[][] limits = {{GgmlType.F16.id, 4e-3}, {GgmlType.BF16.id, 0.016}, {GgmlType.Q8_0.id, 0.02}, {GgmlType.Q6_K.id, 0.08},
                {GgmlType.Q4_K.id, 0.25}, {GgmlType.Q4_0.id, 0.3}};
        for (double[] lim : limits) {
            GgmlType t = GgmlType.ofId((int) lim[0]);
            float[] y = new float[x.length];
            Quants.dequantize(t, MemorySegment.ofArray(Quants.quantize(t, x)), 0, y, 0, x.length);
            double maxErr = 0;
            for (int i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(x[i] - y[i]));
            assertTrue(maxErr < lim[1], t + " max error " + maxErr);
        }
    }
}
