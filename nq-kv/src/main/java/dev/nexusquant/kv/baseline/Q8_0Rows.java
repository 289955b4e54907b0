package dev.nexusquant.kv.baseline;

import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

/**
 * llama.cpp's {@code q8_0} applied to cache rows: blocks of 32 consecutive values of a row, one fp16 scale
 * {@code d = max|x| / 127} and 32 int8 {@code q = round(x / d)}; 8.5 bits per value. Rows shorter than 32 values
 * (head_dim 8 or 16) use one block per row.
 */
public record Q8_0Rows(int dim) implements RowCodec {

    public static int blockSize(int dim) {
        return Math.min(32, dim);
    }

    public Q8_0Rows {
        if (dim % blockSize(dim) != 0) throw new IllegalArgumentException("q8_0 needs head_dim a multiple of 32: " + dim);
    }

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        int bs = blockSize(dim);
        int blocks = n * dim / bs;
        byte[] q = new byte[n * dim];
        short[] d = new short[blocks];
        for (int b = 0; b < blocks; b++) {
            int o = off + b * bs;
            float amax = 0f;
            for (int i = 0; i < bs; i++) amax = Math.max(amax, Math.abs(rows[o + i]));
            float scale = amax / 127f;
            float id = scale != 0f ? 1f / scale : 0f;
            d[b] = Float.floatToFloat16(scale);
            for (int i = 0; i < bs; i++) q[b * bs + i] = (byte) roundHalfAway(rows[o + i] * id);
        }
        return new Block(q, d, dim, bs);
    }

    /** C's roundf: halves away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs(v) + 0.5f), v);
    }

    @Override
    public long bytesFor(int n) {
        return (long) n * dim + 2L * n * dim / blockSize(dim);
    }

    @Override
    public String describe() {
        return "q8_0";
    }

    /** q: [rows][dim] int8; d: [rows * dim / bs] fp16 scales */
    private record Block(byte[] q, short[] d, int dim, int bs) implements EncodedRows {
        @Override
        public int rows() {
            return q.length / dim;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int base = from * dim;
            for (int i = 0, len = count * dim; i < len; i++) {
                out[outOff + i] = q[base + i] * Float.float16ToFloat(d[(base + i) / bs]);
            }
        }

        @Override
        public long bytes() {
            return q.length + 2L * d.length;
        }
    }
}
