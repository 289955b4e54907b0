package dev.nexusquant.codec.baseline;

/**
 * llama.cpp's {@code q8_0} applied to cache rows: blocks of 32 consecutive values of a row, one fp16 scale
 * {@code d = max|x| / 127} and 32 int8 {@code q = roundf(x / d)} (halves away from zero); 8.5 bits per value. Rows
 * shorter than 32 values (head_dim 8 or 16) use one block per row. Layout per vector: for each block, the fp16 scale
 * then its int8 values (as GGML's {@code block_q8_0}).
 */
public final class Q8_0Codec extends DecodingCompressor {

    private final int bs;

    public Q8_0Codec(int dim) {
        super(dim);
        this.bs = blockSize(dim);
        if (dim % bs != 0) throw new IllegalArgumentException("q8_0 needs head_dim a multiple of 32: " + dim);
    }

    static int blockSize(int dim) {
        return Math.min(32, dim);
    }

    @Override
    public String name() {
        return "q8_0";
    }

    @Override
    public int bytesPerBlock() {
        return dim + 2 * (dim / bs);
    }

    /** C's roundf: halves away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs(v) + 0.5f), v);
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        for (int b = 0; b < dim / bs; b++) {
            int o = xOff + b * bs, p = dstOff + b * (bs + 2);
            float amax = 0f;
            for (int i = 0; i < bs; i++) amax = Math.max(amax, Math.abs(x[o + i]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            putHalf(dst, p, Float.floatToFloat16(d));
            for (int i = 0; i < bs; i++) dst[p + 2 + i] = (byte) roundHalfAway(x[o + i] * id);
        }
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        for (int b = 0; b < dim / bs; b++) {
            int p = blockOff + b * (bs + 2);
            float d = f16(block, p);
            for (int i = 0; i < bs; i++) out[outOff + b * bs + i] = block[p + 2 + i] * d;
        }
    }
}
