package dev.nexusquant.codec.baseline;

/**
 * FP8 E4M3 (OCP "E4M3FN": 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no infinities, largest finite 448)
 * with one fp32 scale {@code max|x| / 448} per head shared by blocks of {@value #TOKENS} tokens, as vLLM's FP8 KV cache
 * with per-head scales (here computed from the data rather than calibrated). 8 bits per value plus 32 bits per
 * {@value #TOKENS} rows.
 */
public final class Fp8E4M3Codec extends DecodingCompressor {

    /** Rows that share one scale. */
    public static final int TOKENS = 32;

    static final float MAX = 448f;

    private static final float[] TABLE = new float[256];

    static {
        for (int i = 0; i < 256; i++) TABLE[i] = decodeByte((byte) i);
    }

    public Fp8E4M3Codec(int dim) {
        super(dim);
    }

    @Override
    public String name() {
        return "fp8";
    }

    @Override
    public int vectorsPerBlock() {
        return TOKENS;
    }

    @Override
    public int bytesPerBlock() {
        return 4 + TOKENS * dim;
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        float amax = 0f;
        for (int i = 0; i < TOKENS * dim; i++) amax = Math.max(amax, Math.abs(x[xOff + i]));
        float scale = amax > 0f ? amax / MAX : 1f;
        putFloat(dst, dstOff, scale);
        for (int i = 0; i < TOKENS * dim; i++) dst[dstOff + 4 + i] = encodeByte(x[xOff + i] / scale);
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        float scale = getFloat(block, blockOff);
        int p = blockOff + 4 + index * dim;
        for (int i = 0; i < dim; i++) out[outOff + i] = TABLE[block[p + i] & 0xFF] * scale;
    }

    /** Rounds to the nearest E4M3 value (ties to even), saturating at ±448. */
    static byte encodeByte(float x) {
        if (Float.isNaN(x)) return (byte) 0x7F;
        int sign = x < 0 || (x == 0 && 1f / x < 0) ? 0x80 : 0;
        float a = Math.min(Math.abs(x), MAX);
        if (a < 0x1p-10f) return (byte) sign; // below half the smallest subnormal (2^-9)
        int e = Math.getExponent(a);
        int bits;
        if (e < -6) { // subnormal: value = m * 2^-9, m in 0..7
            int m = (int) Math.rint(a * 512f);
            bits = m >= 8 ? (1 << 3) : m;
        } else {
            float frac = a / (float) Math.pow(2, e) - 1f; // [0, 1)
            int m = (int) Math.rint(frac * 8f);
            int exp = e + 7;
            if (m == 8) {
                m = 0;
                exp++;
            }
            bits = Math.min((exp << 3) | m, 0x7E);
        }
        return (byte) (sign | bits);
    }

    static float decodeByte(byte b) {
        int v = b & 0xFF;
        int exp = (v >>> 3) & 0x0F;
        int m = v & 0x07;
        float mag = exp == 0 ? m * 0x1p-9f : (1f + m / 8f) * (float) Math.pow(2, exp - 7);
        if ((v & 0x7F) == 0x7F) mag = Float.NaN;
        return (v & 0x80) != 0 ? -mag : mag;
    }
}
