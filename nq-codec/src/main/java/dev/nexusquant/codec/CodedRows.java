package dev.nexusquant.codec;

import dev.nexusquant.codec.VectorCompressor;

/**
 * A run of rows of one attention head (one row per cached token), coded by a {@link VectorCompressor} in its blocks
 * and stored back to back in one byte array; attention decodes a few rows at a time into scratch.
 *
 * <p>{@code VectorCompressor} is the one interface every quantizer implements: NexusQuant's E8 lattice codec
 * (nq-codec) and every baseline (fp16, fp8, q8_0, q4_0, KIVI, TurboQuant-style). Codecs whose blocks hold several
 * vectors (KIVI's keys: 32 tokens share per-channel scales) get a last block padded by repeating the last row; the
 * padding is counted in {@link #bytes()} like everything else.
 */
public final class CodedRows {

    private final VectorCompressor codec;
    private final byte[] data; // [ceil(rows / vectorsPerBlock)][bytesPerBlock]
    private final int rows;

    private CodedRows(VectorCompressor codec, byte[] data, int rows) {
        this.codec = codec;
        this.data = data;
        this.rows = rows;
    }

    /** Bytes that {@code n} rows take with {@code codec}. */
    public static long bytesFor(VectorCompressor codec, int n) {
        long blocks = (n + codec.vectorsPerBlock() - 1) / codec.vectorsPerBlock();
        return blocks * codec.bytesPerBlock();
    }

    /** Codes {@code n} rows of {@code rows[off ..]} ([n][dim]); keeps no reference to {@code rows}. */
    public static CodedRows encode(VectorCompressor codec, float[] rows, int off, int n) {
        int dim = codec.dimension(), vpb = codec.vectorsPerBlock(), bpb = codec.bytesPerBlock();
        int blocks = (n + vpb - 1) / vpb;
        byte[] data = new byte[blocks * bpb];
        int full = n / vpb;
        codec.encodeBlocks(rows, off, full, data, 0);
        if (full < blocks) { // the last block, padded by repeating the last row
            int first = full * vpb;
            int count = n - first;
            float[] pad = new float[vpb * dim];
            System.arraycopy(rows, off + first * dim, pad, 0, count * dim);
            for (int r = count; r < vpb; r++) System.arraycopy(rows, off + (n - 1) * dim, pad, r * dim, dim);
            codec.encodeBlock(pad, 0, data, full * bpb);
        }
        return new CodedRows(codec, data, n);
    }

    /**
     * Rows already coded, as {@link #blocks()} gave them (a saved state): {@code data} must hold exactly
     * {@link #bytesFor bytesFor(codec, rows)} bytes; it is not copied.
     */
    public static CodedRows of(VectorCompressor codec, byte[] data, int rows) {
        if (rows <= 0 || data.length != bytesFor(codec, rows)) {
            throw new IllegalArgumentException("CodedRows: " + data.length + " bytes for " + rows + " rows of " + codec.name()
                    + " (expected " + bytesFor(codec, Math.max(rows, 0)) + ")");
        }
        return new CodedRows(codec, data, rows);
    }

    public int rows() {
        return rows;
    }

    public VectorCompressor codec() {
        return codec;
    }

    /** Decodes rows {@code [from, from + count)} into {@code out[outOff ..]} as [count][dim]. */
    public void decode(int from, int count, float[] out, int outOff) {
        int dim = codec.dimension(), vpb = codec.vectorsPerBlock(), bpb = codec.bytesPerBlock();
        for (int i = 0; i < count; i++) {
            int r = from + i;
            codec.decode(data, (r / vpb) * bpb, r % vpb, out, outOff + i * dim);
        }
    }

    /** Bytes held: the coded blocks (codes, scales, everything). */
    public long bytes() {
        return data.length;
    }

    /** The coded blocks as stored (a copy), for containers. */
    public byte[] blocks() {
        return data.clone();
    }
}
