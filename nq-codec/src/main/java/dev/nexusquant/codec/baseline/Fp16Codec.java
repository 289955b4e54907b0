package dev.nexusquant.codec.baseline;

/** IEEE fp16 vectors (round to nearest even): 16 bits per value, the reference every ratio is measured against. */
public final class Fp16Codec extends DecodingCompressor {

    public Fp16Codec(int dim) {
        super(dim);
    }

    @Override
    public String name() {
        return "fp16";
    }

    @Override
    public int bytesPerBlock() {
        return 2 * dim;
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        for (int i = 0; i < dim; i++) putHalf(dst, dstOff + 2 * i, Float.floatToFloat16(x[xOff + i]));
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        for (int i = 0; i < dim; i++) out[outOff + i] = f16(block, blockOff + 2 * i);
    }
}
