package dev.nexusquant.codec.baseline;

import dev.nexusquant.codec.VectorCompressor;

/**
 * Base of the baseline codecs: {@link #dot} and {@link #axpy} decode the vector into a temporary array first. The
 * cache decodes rows a block at a time and never calls them on its hot path; only NexusQuant's E8 codec has fused
 * kernels.
 */
abstract class DecodingCompressor implements VectorCompressor {

    protected final int dim;

    DecodingCompressor(int dim) {
        // the class name, not name(): a constructor must not call a method that subclasses override
        if (dim <= 0) throw new IllegalArgumentException(getClass().getSimpleName() + ": dimension must be positive: " + dim);
        this.dim = dim;
    }

    @Override
    public int dimension() {
        return dim;
    }

    @Override
    public int formatVersion() {
        return 1;
    }

    @Override
    public float dot(float[] q, int qOff, byte[] block, int blockOff, int index) {
        return VectorCompressor.dotByDecoding(this, q, qOff, block, blockOff, index);
    }

    @Override
    public void axpy(float w, byte[] block, int blockOff, int index, float[] acc, int accOff) {
        VectorCompressor.axpyByDecoding(this, w, block, blockOff, index, acc, accOff);
    }

    @Override
    public void writeParameters(java.io.DataOutput out) throws java.io.IOException {
        out.writeInt(dim);
    }

    static short half(byte[] b, int off) {
        return (short) ((b[off] & 0xFF) | (b[off + 1] << 8));
    }

    static void putHalf(byte[] b, int off, short h) {
        b[off] = (byte) h;
        b[off + 1] = (byte) (h >>> 8);
    }

    static float f16(byte[] b, int off) {
        return Float.float16ToFloat(half(b, off));
    }

    static void putFloat(byte[] b, int off, float f) {
        int v = Float.floatToRawIntBits(f);
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    static float getFloat(byte[] b, int off) {
        return Float.intBitsToFloat((b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24);
    }

    @Override
    public String toString() {
        return name() + "(" + dim + ")";
    }
}
