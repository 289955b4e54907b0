package dev.nexusquant.kv.rows;

import dev.nexusquant.codec.e8.E8Codec;

/**
 * NexusQuant's rows: each row quantized by the codec's fixed-rate E8 lattice codec (stage 5) at 1 to 4 code bits per
 * value plus an fp16 scale per row (or per scale group), stored back to back in one byte array and decoded by table
 * lookup a few rows at a time.
 */
public record E8Rows(E8Codec codec) implements RowCodec {

    public static E8Rows of(int dim, int bits, int scaleGroup) {
        if (dim % 8 != 0) throw new IllegalArgumentException("E8 rows need head_dim a multiple of 8: " + dim);
        return new E8Rows(E8Codec.of(dim, bits, scaleGroup));
    }

    @Override
    public int dim() {
        return codec.dimension();
    }

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        int bpv = codec.bytesPerVector();
        byte[] data = new byte[n * bpv];
        for (int i = 0; i < n; i++) codec.encode(rows, off + i * dim(), data, i * bpv);
        return new Block(data, n, codec);
    }

    @Override
    public long bytesFor(int n) {
        return (long) n * codec.bytesPerVector();
    }

    @Override
    public String describe() {
        return "e8:" + codec.codeBits() + (codec.scaleGroup() == dim() ? "" : "/" + codec.scaleGroup());
    }

    /** data: [rows][bytesPerVector] scales then codes, as E8Codec lays them out */
    private record Block(byte[] data, int n, E8Codec codec) implements EncodedRows {
        @Override
        public int rows() {
            return n;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int bpv = codec.bytesPerVector();
            int dim = codec.dimension();
            for (int i = 0; i < count; i++) codec.decode(data, (from + i) * bpv, out, outOff + i * dim);
        }

        @Override
        public long bytes() {
            return data.length;
        }
    }
}
