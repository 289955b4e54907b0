package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The element formats of GGML, written out plainly: how each block type decodes to floats (the definition the kernels
 * are tested against) and a simple quantizer for each (used to write test and benchmark models).
 *
 * <p>Block layouts (from ggml-common.h; all little-endian, {@code d}/{@code dmin} are fp16):
 * <ul>
 *   <li>Q8_0, 32 values, 34 bytes: {@code d, int8 q[32]}; {@code x[i] = d * q[i]}.</li>
 *   <li>Q4_0, 32 values, 18 bytes: {@code d, u8 qs[16]}; {@code x[i] = d * ((qs[i] & 15) - 8)},
 *       {@code x[i + 16] = d * ((qs[i] >> 4) - 8)} for {@code i < 16}.</li>
 *   <li>Q4_K, 256 values, 144 bytes: {@code d, dmin, u8 scales[12], u8 qs[128]}; eight sub-blocks of 32 with 6-bit
 *       scales {@code sc} and mins {@code m} packed in {@code scales}; {@code x = d * sc * q - dmin * m}, where the
 *       64 values {@code 64j..64j+63} take the low nibbles (sub-block {@code 2j}) then the high nibbles (sub-block
 *       {@code 2j+1}) of {@code qs[32j..32j+31]}.</li>
 *   <li>Q6_K, 256 values, 210 bytes: {@code u8 ql[128], u8 qh[64], int8 scales[16], d}; 6-bit values
 *       {@code q - 32} (low 4 bits in {@code ql}, high 2 bits in {@code qh}), one int8 scale per 16 values:
 *       {@code x[e] = d * scales[e / 16] * (q[e] - 32)}.</li>
 * </ul>
 */
public final class Quants {

    private Quants() {
    }

    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(I16, off));
    }

    public static float bf16(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Rounds to the nearest bfloat16 (ties to even); NaN stays NaN. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /**
     * Decodes {@code n} consecutive values of a tensor of type {@code type}, starting at the block boundary at byte
     * {@code off}, into {@code dst[dstOff..dstOff+n)}. {@code n} is a multiple of the block size.
     */
    public static void dequantize(GgmlType type, MemorySegment s, long off, float[] dst, int dstOff, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(s, F32, off, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(s.get(I16, off + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = bf16(s.get(I16, off + 2L * i));
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++, off += 34) {
                    float d = f16(s, off);
                    for (int i = 0; i < 32; i++) dst[dstOff + 32 * b + i] = d * s.get(ValueLayout.JAVA_BYTE, off + 2 + i);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++, off += 18) {
                    float d = f16(s, off);
                    for (int i = 0; i < 16; i++) {
                        int q = u8(s, off + 2 + i);
                        dst[dstOff + 32 * b + i] = d * ((q & 15) - 8);
                        dst[dstOff + 32 * b + i + 16] = d * ((q >> 4) - 8);
                    }
                }
            }
            case Q4_K -> {
                byte[] q = new byte[144];
                for (int b = 0; b < n / 256; b++, off += 144) {
                    MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off, q, 0, 144);
                    float d = Float.float16ToFloat((short) ((q[0] & 0xFF) | (q[1] << 8)));
                    float dmin = Float.float16ToFloat((short) ((q[2] & 0xFF) | (q[3] << 8)));
                    int y = dstOff + 256 * b;
                    for (int j = 0; j < 4; j++) {
                        float d1 = d * q4kScale(q, 4, 2 * j), m1 = dmin * q4kMin(q, 4, 2 * j);
                        float d2 = d * q4kScale(q, 4, 2 * j + 1), m2 = dmin * q4kMin(q, 4, 2 * j + 1);
                        for (int l = 0; l < 32; l++) {
                            int v = q[16 + 32 * j + l] & 0xFF;
                            dst[y + 64 * j + l] = d1 * (v & 15) - m1;
                            dst[y + 64 * j + 32 + l] = d2 * (v >> 4) - m2;
                        }
                    }
                }
            }
            case Q6_K -> {
                byte[] q = new byte[210];
                float[] scale = new float[16];
                for (int b = 0; b < n / 256; b++, off += 210) {
                    MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off, q, 0, 210);
                    final int ql = 0, qh = 128, sc = 192;
                    float d = Float.float16ToFloat((short) ((q[208] & 0xFF) | (q[209] << 8)));
                    for (int j = 0; j < 16; j++) scale[j] = d * q[sc + j]; // x[e] = d * scales[e / 16] * q[e]
                    int y = dstOff + 256 * b;
                    for (int half = 0; half < 2; half++) {
                        for (int l = 0; l < 32; l++) {
                            int lo0 = q[ql + 64 * half + l] & 0xFF, lo1 = q[ql + 64 * half + l + 32] & 0xFF;
                            int h = q[qh + 32 * half + l] & 0xFF;
                            int q1 = ((lo0 & 15) | ((h & 3) << 4)) - 32;
                            int q2 = ((lo1 & 15) | (((h >> 2) & 3) << 4)) - 32;
                            int q3 = ((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32;
                            int q4 = ((lo1 >> 4) | (((h >> 6) & 3) << 4)) - 32;
                            int e = 128 * half + l;
                            dst[y + e] = scale[e >> 4] * q1;
                            dst[y + e + 32] = scale[(e + 32) >> 4] * q2;
                            dst[y + e + 64] = scale[(e + 64) >> 4] * q3;
                            dst[y + e + 96] = scale[(e + 96) >> 4] * q4;
                        }
                    }
                }
            }
            default -> throw new UnsupportedOperationException("no kernels for " + type);
        }
    }

    /** The 6-bit scale of sub-block {@code j} (0..7) of a Q4_K block whose 12 scale bytes start at {@code q[off]}. */
    static int q4kScale(byte[] q, int off, int j) {
        return j < 4 ? q[off + j] & 63 : (q[off + j + 4] & 15) | (((q[off + j - 4] & 0xFF) >> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j} (0..7) of a Q4_K block. */
    static int q4kMin(byte[] q, int off, int j) {
        return j < 4 ? q[off + j + 4] & 63 : ((q[off + j + 4] & 0xFF) >> 4) | (((q[off + j] & 0xFF) >> 6) << 4);
    }

    /** The 6-bit scale of sub-block {@code j} (0..7) of a Q4_K block whose 12 scale bytes start at {@code off}. */
    static int q4kScale(MemorySegment s, long off, int j) {
        return j < 4 ? u8(s, off + j) & 63 : (u8(s, off + j + 4) & 15) | ((u8(s, off + j - 4) >> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j} (0..7) of a Q4_K block. */
    static int q4kMin(MemorySegment s, long off, int j) {
        return j < 4 ? u8(s, off + j + 4) & 63 : (u8(s, off + j + 4) >> 4) | ((u8(s, off + j) >> 6) << 4);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Quantizers: simple round-to-nearest encoders that produce valid blocks of each format.
    // ------------------------------------------------------------------------------------------------------------

    /** Encodes {@code src} (length a multiple of the block size) in {@code type}. */
    public static byte[] quantize(GgmlType type, float[] src) {
        int n = src.length;
        byte[] out = new byte[Math.toIntExact(type.bytesFor(n))];
        MemorySegment o = MemorySegment.ofArray(out);
        switch (type) {
            case F32 -> MemorySegment.copy(src, 0, o, F32, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) o.set(I16, 2L * i, Float.floatToFloat16(src[i]));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) o.set(I16, 2L * i, toBf16(src[i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long off = 34L * b;
                    float amax = 0;
                    for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(src[32 * b + i]));
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    o.set(I16, off, Float.floatToFloat16(d));
                    for (int i = 0; i < 32; i++) {
                        o.set(ValueLayout.JAVA_BYTE, off + 2 + i, (byte) Math.round(src[32 * b + i] * id));
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long off = 18L * b;
                    float max = 0, amax = 0;
                    for (int i = 0; i < 32; i++) {
                        float v = src[32 * b + i];
                        if (Math.abs(v) > amax) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    o.set(I16, off, Float.floatToFloat16(d));
                    for (int i = 0; i < 16; i++) {
                        int q0 = Math.min(15, (int) (src[32 * b + i] * id + 8.5f));
                        int q1 = Math.min(15, (int) (src[32 * b + i + 16] * id + 8.5f));
                        o.set(ValueLayout.JAVA_BYTE, off + 2 + i, (byte) (q0 | (q1 << 4)));
                    }
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / 256; b++) quantizeQ4K(src, 256 * b, o, 144L * b);
            }
            case Q6_K -> {
                for (int b = 0; b < n / 256; b++) quantizeQ6K(src, 256 * b, o, 210L * b);
            }
            default -> throw new UnsupportedOperationException("no quantizer for " + type);
        }
        return out;
    }

    private static void quantizeQ4K(float[] x, int xo, MemorySegment o, long off) {
        float[] scale = new float[8], min = new float[8];
        for (int j = 0; j < 8; j++) {
            float lo = 0, hi = 0; // the range always includes 0, so mins are >= 0 after negation
            for (int l = 0; l < 32; l++) {
                lo = Math.min(lo, x[xo + 32 * j + l]);
                hi = Math.max(hi, x[xo + 32 * j + l]);
            }
            scale[j] = (hi - lo) / 15f;
            min[j] = -lo;
        }
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            maxScale = Math.max(maxScale, scale[j]);
            maxMin = Math.max(maxMin, min[j]);
        }
        float d = Float.float16ToFloat(Float.floatToFloat16(maxScale / 63f));
        float dmin = Float.float16ToFloat(Float.floatToFloat16(maxMin / 63f));
        int[] sc = new int[8], m = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = d > 0 ? Math.min(63, Math.round(scale[j] / d)) : 0;
            m[j] = dmin > 0 ? Math.min(63, Math.round(min[j] / dmin)) : 0;
        }
        o.set(I16, off, Float.floatToFloat16(d));
        o.set(I16, off + 2, Float.floatToFloat16(dmin));
        byte[] s = new byte[12];
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                s[j] = (byte) sc[j];
                s[j + 4] = (byte) m[j];
            } else {
                s[j + 4] = (byte) ((sc[j] & 15) | ((m[j] & 15) << 4));
                s[j - 4] |= (byte) ((sc[j] >> 4) << 6);
                s[j] |= (byte) ((m[j] >> 4) << 6);
            }
        }
        for (int i = 0; i < 12; i++) o.set(ValueLayout.JAVA_BYTE, off + 4 + i, s[i]);
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                int q0 = q4(x[xo + 64 * j + l], d * sc[2 * j], dmin * m[2 * j]);
                int q1 = q4(x[xo + 64 * j + 32 + l], d * sc[2 * j + 1], dmin * m[2 * j + 1]);
                o.set(ValueLayout.JAVA_BYTE, off + 16 + 32 * j + l, (byte) (q0 | (q1 << 4)));
            }
        }
    }

    private static int q4(float v, float scale, float min) {
        if (scale == 0) return 0;
        return Math.max(0, Math.min(15, Math.round((v + min) / scale)));
    }

    private static void quantizeQ6K(float[] x, int xo, MemorySegment o, long off) {
        float[] scale = new float[16];
        float maxScale = 0;
        for (int j = 0; j < 16; j++) {
            float amax = 0;
            for (int l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(x[xo + 16 * j + l]));
            scale[j] = amax / 31f;
            maxScale = Math.max(maxScale, scale[j]);
        }
        float d = Float.float16ToFloat(Float.floatToFloat16(maxScale / 127f));
        int[] sc = new int[16];
        for (int j = 0; j < 16; j++) sc[j] = d > 0 ? Math.min(127, Math.round(scale[j] / d)) : 0;
        int[] q = new int[256];
        for (int e = 0; e < 256; e++) {
            float s = d * sc[e / 16];
            int v = s == 0 ? 0 : Math.round(x[xo + e] / s);
            q[e] = Math.max(-32, Math.min(31, v)) + 32;
        }
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * half + l;
                int q1 = q[e], q2 = q[e + 32], q3 = q[e + 64], q4 = q[e + 96];
                o.set(ValueLayout.JAVA_BYTE, off + 64 * half + l, (byte) ((q1 & 15) | ((q3 & 15) << 4)));
                o.set(ValueLayout.JAVA_BYTE, off + 64 * half + l + 32, (byte) ((q2 & 15) | ((q4 & 15) << 4)));
                o.set(ValueLayout.JAVA_BYTE, off + 128 + 32 * half + l,
                        (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)));
            }
        }
        for (int j = 0; j < 16; j++) o.set(ValueLayout.JAVA_BYTE, off + 192 + j, (byte) sc[j]);
        o.set(I16, off + 208, Float.floatToFloat16(d));
    }
}
