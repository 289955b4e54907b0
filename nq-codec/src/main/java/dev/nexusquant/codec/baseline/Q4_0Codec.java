package dev.nexusquant.codec.baseline;

/**
 * llama.cpp's {@code q4_0} applied to cache rows: blocks of 32 values; the value of largest magnitude {@code m} (with
 * its sign) gives the fp16 scale {@code d = m / -8}; each value becomes {@code q = min(15, (int)(x / d + 8.5))} and
 * decodes as {@code (q - 8) * d}. Nibbles are packed as in GGML's {@code block_q4_0}: the fp16 scale, then 16 bytes,
 * value {@code i} in the low nibble of byte {@code i} and value {@code i + 16} in its high nibble. 4.5 bits per value.
 */
public final class Q4_0Codec extends DecodingCompressor {

    private final int bs;

    public Q4_0Codec(int dim) {
        super(dim);
        this.bs = Q8_0Codec.blockSize(dim);
        if (dim % bs != 0 || bs % 2 != 0) throw new IllegalArgumentException("q4_0 needs head_dim a multiple of 32: " + dim);
    }

    @Override
    public String name() {
        return "q4_0";
    }

    @Override
    public int bytesPerBlock() {
        return dim / 2 + 2 * (dim / bs);
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        int half = bs / 2;
        for (int b = 0; b < dim / bs; b++) {
            int o = xOff + b * bs, p = dstOff + b * (half + 2);
            float amax = 0f, max = 0f;
            for (int i = 0; i < bs; i++) {
                if (Math.abs(x[o + i]) > amax) {
                    amax = Math.abs(x[o + i]);
                    max = x[o + i];
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            putHalf(dst, p, Float.floatToFloat16(d));
            for (int i = 0; i < half; i++) {
                int lo = Math.min(15, (int) (x[o + i] * id + 8.5f));
                int hi = Math.min(15, (int) (x[o + half + i] * id + 8.5f));
                dst[p + 2 + i] = (byte) (lo | (hi << 4));
            }
        }
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        int half = bs / 2;
        for (int b = 0; b < dim / bs; b++) {
            int p = blockOff + b * (half + 2);
            float d = f16(block, p);
            int o = outOff + b * bs;
            for (int i = 0; i < half; i++) {
                int byt = block[p + 2 + i] & 0xFF;
                out[o + i] = ((byt & 0x0F) - 8) * d;
                out[o + half + i] = ((byt >>> 4) - 8) * d;
            }
        }
    }
}
