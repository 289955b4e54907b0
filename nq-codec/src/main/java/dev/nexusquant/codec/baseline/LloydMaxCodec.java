package dev.nexusquant.codec.baseline;

/**
 * TurboQuant-style vectors (Zandieh et al., "TurboQuant: Online Vector Quantization with Near-optimal Distortion Rate",
 * 2025): after the cache's random rotation every coordinate of a vector is close to Gaussian with variance
 * {@code |x|² / dim}, so each vector stores its norm (fp16) and every coordinate is quantized with the Lloyd-Max
 * levels of a unit Gaussian at {@code hiBits} bits for the first {@code hiCount} coordinates and {@code hiBits - 1}
 * for the rest (2.5 bits = half at 3, half at 2). Without the rotation this is a plain Lloyd-Max scalar quantizer.
 */
public final class LloydMaxCodec extends DecodingCompressor {

    private final int hiBits, hiCount;

    public LloydMaxCodec(int dim, int hiBits, int hiCount) {
        super(dim);
        if (hiBits < 2 || hiBits > 8) throw new IllegalArgumentException("Lloyd-Max bits must be 2..8: " + hiBits);
        if (hiCount < 0 || hiCount > dim) throw new IllegalArgumentException("bad high-rate count " + hiCount);
        this.hiBits = hiBits;
        this.hiCount = hiCount;
    }

    @Override
    public String name() {
        return "lloydmax";
    }

    /** Bits of the codes of one vector. */
    int codeBits() {
        return hiCount * hiBits + (dim - hiCount) * (hiBits - 1);
    }

    @Override
    public int bytesPerBlock() {
        return 2 + BitPacking.bytesFor(codeBits(), 1);
    }

    @Override
    public void writeParameters(java.io.DataOutput out) throws java.io.IOException {
        out.writeInt(dim);
        out.writeByte(hiBits);
        out.writeInt(hiCount);
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        double ss = 0;
        for (int c = 0; c < dim; c++) ss += x[xOff + c] * (double) x[xOff + c];
        short nh = Float.floatToFloat16((float) Math.sqrt(ss));
        putHalf(dst, dstOff, nh);
        float nf = Float.float16ToFloat(nh);
        float inv = nf > 0 ? (float) Math.sqrt(dim) / nf : 0f;
        float[] lvHi = LloydMax.levels(hiBits), lvLo = LloydMax.levels(hiBits - 1);
        long bit = 0;
        for (int c = 0; c < dim; c++) {
            boolean hi = c < hiCount;
            int b = hi ? hiBits : hiBits - 1;
            int code = LloydMax.nearest(hi ? lvHi : lvLo, x[xOff + c] * inv);
            for (int k = 0; k < b; k++, bit++) {
                if (((code >>> k) & 1) != 0) dst[dstOff + 2 + (int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
            }
        }
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        float scale = f16(block, blockOff) / (float) Math.sqrt(dim);
        float[] lvHi = LloydMax.levels(hiBits), lvLo = LloydMax.levels(hiBits - 1);
        long bit = 0;
        for (int c = 0; c < dim; c++) {
            boolean hi = c < hiCount;
            int b = hi ? hiBits : hiBits - 1;
            int code = 0;
            for (int k = 0; k < b; k++, bit++) {
                code |= ((block[blockOff + 2 + (int) (bit >>> 3)] >>> (bit & 7)) & 1) << k;
            }
            out[outOff + c] = (hi ? lvHi : lvLo)[code] * scale;
        }
    }
}
