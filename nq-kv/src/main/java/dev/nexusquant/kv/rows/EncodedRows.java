package dev.nexusquant.kv.rows;

/** An immutable block of encoded rows, decoded a few rows at a time into caller scratch. */
public interface EncodedRows {

    /** Number of rows. */
    int rows();

    /**
     * Decodes rows {@code [from, from + count)} into {@code out[outOff ..]} as [count][dim] row-major floats.
     */
    void decode(int from, int count, float[] out, int outOff);

    /** Bytes held by this block's arrays (codes, scales, zero points), counted from their lengths. */
    long bytes();

    /**
     * A block keeping only the rows whose indices are listed (ascending), without re-quantizing where the form allows
     * it. The default decodes and re-encodes the selected rows with {@code codec}.
     */
    default EncodedRows select(int[] keep, int count, RowCodec codec) {
        int dim = codec.dim();
        float[] buf = new float[count * dim];
        float[] row = new float[dim];
        for (int i = 0; i < count; i++) {
            decode(keep[i], 1, row, 0);
            System.arraycopy(row, 0, buf, i * dim, dim);
        }
        return codec.encode(buf, 0, count);
    }
}
