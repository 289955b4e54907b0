package dev.nexusquant.kv.rows;

import java.util.Arrays;

/** Rows kept as fp32: lossless, 32 bits per value. The reference the lossless tests compare against. */
public record Fp32Rows(int dim) implements RowCodec {

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        return new Block(Arrays.copyOfRange(rows, off, off + n * dim), dim);
    }

    @Override
    public long bytesFor(int n) {
        return 4L * n * dim;
    }

    @Override
    public String describe() {
        return "fp32";
    }

    @Override
    public boolean lossless() {
        return true;
    }

    /** data: [rows][dim] */
    private record Block(float[] data, int dim) implements EncodedRows {
        @Override
        public int rows() {
            return data.length / dim;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            System.arraycopy(data, from * dim, out, outOff, count * dim);
        }

        @Override
        public long bytes() {
            return 4L * data.length;
        }

        @Override
        public EncodedRows select(int[] keep, int count, RowCodec codec) {
            float[] d = new float[count * dim];
            for (int i = 0; i < count; i++) System.arraycopy(data, keep[i] * dim, d, i * dim, dim);
            return new Block(d, dim);
        }
    }
}
