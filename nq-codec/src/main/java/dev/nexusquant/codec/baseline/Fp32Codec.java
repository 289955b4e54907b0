package dev.nexusquant.codec.baseline;

/** Plain fp32 vectors: lossless, 32 bits per value (the lossless configuration's codec). */
public final class Fp32Codec extends DecodingCompressor {

    public Fp32Codec(int dim) {
        super(dim);
    }

    @Override
    public String name() {
        return "fp32";
    }

    @Override
    public int bytesPerBlock() {
        return 4 * dim;
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        for (int i = 0; i < dim; i++) putFloat(dst, dstOff + 4 * i, x[xOff + i]);
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        for (int i = 0; i < dim; i++) out[outOff + i] = getFloat(block, blockOff + 4 * i);
    }
}
