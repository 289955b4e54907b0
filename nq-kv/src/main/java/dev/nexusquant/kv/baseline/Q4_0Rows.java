package dev.nexusquant.kv.baseline;

import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

/**
 * llama.cpp's {@code q4_0} applied to cache rows: blocks of 32 values, the value of largest magnitude {@code m}
 * (with its sign) gives the fp16 scale {@code d = m / -8}; each value becomes {@code q = min(15, (int)(x / d + 8.5))}
 * and decodes as {@code (q - 8) * d}. Nibbles are packed as in GGML: value {@code i} of the block in the low nibble of
 * byte {@code i}, value {@code i + 16} in its high nibble. 4.5 bits per value.
 */
public record Q4_0Rows(int dim) implements RowCodec {

    public Q4_0Rows {
        int bs = Q8_0Rows.blockSize(dim);
        if (dim % bs != 0 || bs % 2 != 0) throw new IllegalArgumentException("q4_0 needs head_dim a multiple of 32: " + dim);
    }

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        int bs = Q8_0Rows.blockSize(dim);
        int blocks = n * dim / bs;
        byte[] qs = new byte[n * dim / 2];
        short[] d = new short[blocks];
        for (int b = 0; b < blocks; b++) {
            int o = off + b * bs;
            float amax = 0f, max = 0f;
            for (int i = 0; i < bs; i++) {
                float x = rows[o + i];
                if (Math.abs(x) > amax) {
                    amax = Math.abs(x);
                    max = x;
                }
            }
            float scale = max / -8f;
            float id = scale != 0f ? 1f / scale : 0f;
            d[b] = Float.floatToFloat16(scale);
            int half = bs / 2;
            for (int i = 0; i < half; i++) {
                int lo = Math.min(15, (int) (rows[o + i] * id + 8.5f));
                int hi = Math.min(15, (int) (rows[o + half + i] * id + 8.5f));
                qs[b * half + i] = (byte) (lo | (hi << 4));
            }
        }
        return new Block(qs, d, dim, bs);
    }

    @Override
    public long bytesFor(int n) {
        return (long) n * dim / 2 + 2L * n * dim / Q8_0Rows.blockSize(dim);
    }

    @Override
    public String describe() {
        return "q4_0";
    }

    /** qs: [rows * dim / 2] packed nibbles; d: [blocks] fp16 scales */
    private record Block(byte[] qs, short[] d, int dim, int bs) implements EncodedRows {
        @Override
        public int rows() {
            return qs.length * 2 / dim;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int half = bs / 2;
            int firstBlock = from * dim / bs;
            int nBlocks = count * dim / bs;
            for (int b = 0; b < nBlocks; b++) {
                int blk = firstBlock + b;
                float scale = Float.float16ToFloat(d[blk]);
                int o = outOff + b * bs;
                for (int i = 0; i < half; i++) {
                    int byt = qs[blk * half + i] & 0xFF;
                    out[o + i] = ((byt & 0x0F) - 8) * scale;
                    out[o + half + i] = ((byt >>> 4) - 8) * scale;
                }
            }
        }

        @Override
        public long bytes() {
            return qs.length + 2L * d.length;
        }
    }
}
