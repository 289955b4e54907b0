package dev.nexusquant.kv.rows;

/** Rows kept as IEEE fp16 (round to nearest even): 16 bits per value, the reference every ratio is measured against. */
public record Fp16Rows(int dim) implements RowCodec {

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        short[] h = new short[n * dim];
        for (int i = 0; i < h.length; i++) h[i] = Float.floatToFloat16(rows[off + i]);
        return new Block(h, dim);
    }

    @Override
    public long bytesFor(int n) {
        return 2L * n * dim;
    }

    @Override
    public String describe() {
        return "fp16";
    }

    /** data: [rows][dim] fp16 bits */
    private record Block(short[] data, int dim) implements EncodedRows {
        @Override
        public int rows() {
            return data.length / dim;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int base = from * dim;
            for (int i = 0, len = count * dim; i < len; i++) out[outOff + i] = Float.float16ToFloat(data[base + i]);
        }

        @Override
        public long bytes() {
            return 2L * data.length;
        }

        @Override
        public EncodedRows select(int[] keep, int count, RowCodec codec) {
            short[] d = new short[count * dim];
            for (int i = 0; i < count; i++) System.arraycopy(data, keep[i] * dim, d, i * dim, dim);
            return new Block(d, dim);
        }
    }
}
