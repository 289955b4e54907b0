package dev.nexusquant.codec.baseline;

/**
 * KIVI (Liu et al., "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache", ICML 2024): asymmetric
 * min/max integer quantization at {@code bits} bits; keys per CHANNEL over blocks of {@value #GROUP} tokens (a block
 * holds 32 vectors sharing per-channel scales), values per TOKEN over groups of {@value #GROUP} channels (fewer when
 * head_dim is smaller). Every group stores an fp16 scale and an fp16 minimum. With the cache's fp16 recent window as
 * KIVI's residual and blocks of 32 tokens.
 */
public final class KiviCodec extends DecodingCompressor {

    public static final int GROUP = 32;

    private final int bits;
    private final boolean perChannel;
    private final int cg; // channels per value group

    public KiviCodec(int dim, int bits, boolean perChannel) {
        super(dim);
        if (bits < 1 || bits > 8) throw new IllegalArgumentException("KIVI bits must be 1..8: " + bits);
        this.bits = bits;
        this.perChannel = perChannel;
        this.cg = Math.min(GROUP, dim);
        if (!perChannel && dim % cg != 0) throw new IllegalArgumentException("KIVI value groups need head_dim a multiple of 32: " + dim);
    }

    @Override
    public String name() {
        return perChannel ? "kivi-k" : "kivi-v";
    }

    @Override
    public int vectorsPerBlock() {
        return perChannel ? GROUP : 1;
    }

    /** (scale, min) pairs per block. */
    private int groups() {
        return perChannel ? dim : dim / cg;
    }

    private int codeBytes() {
        return BitPacking.bytesFor((long) vectorsPerBlock() * dim, bits);
    }

    @Override
    public int bytesPerBlock() {
        return 4 * groups() + codeBytes();
    }

    @Override
    public void writeParameters(java.io.DataOutput out) throws java.io.IOException {
        out.writeInt(dim);
        out.writeByte(bits);
        out.writeBoolean(perChannel);
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        int levels = (1 << bits) - 1;
        int codes = dstOff + 4 * groups();
        int vpb = vectorsPerBlock();
        for (int g = 0; g < groups(); g++) {
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < vpb; t++) {
                for (int c = first(g); c < last(g); c++) {
                    float v = x[xOff + t * dim + c];
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            short s = Float.floatToFloat16((hi - lo) / levels), m = Float.floatToFloat16(lo);
            putHalf(dst, dstOff + 4 * g, s);
            putHalf(dst, dstOff + 4 * g + 2, m);
            float sf = Float.float16ToFloat(s), mf = Float.float16ToFloat(m);
            for (int t = 0; t < vpb; t++) {
                for (int c = first(g); c < last(g); c++) {
                    int q = sf > 0f ? Math.max(0, Math.min(levels, Math.round((x[xOff + t * dim + c] - mf) / sf))) : 0;
                    BitPacking.put(dst, codes, (long) t * dim + c, bits, q);
                }
            }
        }
    }

    private int first(int g) {
        return perChannel ? g : g * cg;
    }

    private int last(int g) {
        return perChannel ? g + 1 : (g + 1) * cg;
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        int codes = blockOff + 4 * groups();
        for (int c = 0; c < dim; c++) {
            int g = perChannel ? c : c / cg;
            float s = f16(block, blockOff + 4 * g), m = f16(block, blockOff + 4 * g + 2);
            out[outOff + c] = m + s * BitPacking.get(block, codes, (long) index * dim + c, bits);
        }
    }
}
