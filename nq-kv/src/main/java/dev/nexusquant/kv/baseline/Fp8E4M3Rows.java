package dev.nexusquant.kv.baseline;

import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

/**
 * FP8 E4M3 (OCP "E4M3FN": 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no infinities, largest finite 448)
 * with one fp32 scale per encoded block of one head ({@code scale = max|x| / 448}), as vLLM's FP8 KV cache with
 * per-head scales. 8 bits per value plus 32 bits per block.
 */
public record Fp8E4M3Rows(int dim) implements RowCodec {

    static final float MAX = 448f;

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        float amax = 0f;
        for (int i = 0; i < n * dim; i++) amax = Math.max(amax, Math.abs(rows[off + i]));
        float scale = amax > 0f ? amax / MAX : 1f;
        byte[] q = new byte[n * dim];
        for (int i = 0; i < q.length; i++) q[i] = encode(rows[off + i] / scale);
        return new Block(q, scale, dim);
    }

    @Override
    public long bytesFor(int n) {
        return (long) n * dim + 4;
    }

    @Override
    public String describe() {
        return "fp8";
    }

    /** Rounds to the nearest E4M3 value (ties to even), saturating at ±448. */
    static byte encode(float x) {
        int sign = x < 0 || (x == 0 && 1f / x < 0) ? 0x80 : 0;
        float a = Math.min(Math.abs(x), MAX);
        if (Float.isNaN(x)) return (byte) 0x7F;
        if (a < 0x1p-10f) return (byte) sign; // below half the smallest subnormal (2^-9)
        int e = Math.getExponent(a);          // unbiased
        int bits;
        if (e < -6) { // subnormal: value = m * 2^-9, m in 0..7
            int m = (int) Math.rint(a * 512f);
            bits = m >= 8 ? (1 << 3) : m; // rounds up into the first normal
        } else {
            float frac = a / (float) Math.pow(2, e) - 1f; // [0, 1)
            int m = (int) Math.rint(frac * 8f);
            int exp = e + 7;
            if (m == 8) {
                m = 0;
                exp++;
            }
            bits = (exp << 3) | m;
            if (bits > 0x7E) bits = 0x7E; // 448
        }
        return (byte) (sign | bits);
    }

    static float decode(byte b) {
        int v = b & 0xFF;
        int exp = (v >>> 3) & 0x0F;
        int m = v & 0x07;
        float mag = exp == 0 ? m * 0x1p-9f : (1f + m / 8f) * (float) Math.pow(2, exp - 7);
        if ((v & 0x7F) == 0x7F) mag = Float.NaN;
        return (v & 0x80) != 0 ? -mag : mag;
    }

    private static final float[] TABLE = new float[256];

    static {
        for (int i = 0; i < 256; i++) TABLE[i] = decode((byte) i);
    }

    /** q: [rows][dim] E4M3 bytes */
    private record Block(byte[] q, float scale, int dim) implements EncodedRows {
        @Override
        public int rows() {
            return q.length / dim;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int base = from * dim;
            for (int i = 0, len = count * dim; i < len; i++) out[outOff + i] = TABLE[q[base + i] & 0xFF] * scale;
        }

        @Override
        public long bytes() {
            return q.length + 4;
        }
    }
}
