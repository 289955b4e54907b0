package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.vector.Vectorization;
import dev.nexusquant.codec.VectorCompressor;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The fixed-rate, random-access E8 lattice codec: the in-memory form of a compressed KV cache that attention reads.
 *
 * <p>A vector of dimension d (a multiple of 8) is cut into d/8 groups of eight values. Each scale group (the whole
 * vector, or {@code scaleGroup} values) has one fp16 scale s; each group is coded as the point(s) of small E8
 * codebooks nearest to {@code x / s}, one code per stage:
 * <pre>
 *   bits  stages (codebook, weight)            code bits per 8 values
 *   1     E8Root8                              8    240 roots of E8 + 16 axis points
 *   2     E8P16                                16   65,536 points of E8 + ¼ (QuIP#'s E8P construction)
 *   3     E8P16, E8Root8 x 0.5                 24   the second stage codes the residual
 *   4     E8P16, E8P16 x 0.26                  32   (residual vector quantization, as QuIP# does for 3 and 4 bits)
 * </pre>
 * and the group decodes as {@code s * (c_0 + w_1 c_1)}. Stored bytes per vector, everything counted:
 * {@code 2 * (d / scaleGroup)} for the scales plus {@code d / 8 * Σ stage bits / 8} for the codes; for d = 128 at 2 bits,
 * 2 + 32 = 34 bytes = 2.125 bits per value (fp16: 256 bytes).
 *
 * <p>Layout of one vector, little-endian:
 * <pre>
 *   [scaleGroups] fp16 scales, then for each stage: [d/8] codes (uint16 for E8P16, uint8 for E8Root8)
 * </pre>
 *
 * <p>Rate control at fixed rate: the scale of each scale group is chosen by a small search that minimizes that
 * group's squared error: candidates {@code rms * ratio * m} for a few multipliers m around the ratio that is best for
 * Gaussian data, each rounded to fp16 and quantized in full, then a least-squares refit of the scale to the chosen
 * codes ({@code s = <x, u> / <u, u>}, u the decoded vector at unit scale), kept when it lowers the error.
 *
 * <p>Input values must be finite ({@link IllegalArgumentException} otherwise); a scale group of zeros gets scale 0.
 * Scales are limited to the fp16 range, so values above about 1.8e5 in magnitude are clipped.
 *
 * <p>Decoding, the fused {@link #dot} and {@link #axpy} use a Vector API kernel when it is available (8 float lanes
 * per group) and a scalar twin otherwise; {@link #scalar} and {@link #vectorized} pick one explicitly, and the encoder
 * goes with them. The vector encoder ({@link VectorE8Encoder}) codes one group per lane, many groups at a time, and is
 * fastest when {@link #encode(float[], int, int, byte[], int)} is given many vectors at once; it writes the same bytes
 * as the scalar encoder ({@link ScalarE8Encoder}, one scale group at a time), which tests check. Immutable and thread-safe
 * (the work arrays are per thread).
 *
 * <p>References: Conway and Sloane, "Fast quantizing and decoding algorithms for lattice quantizers and codes", 1982;
 * Tseng et al., "QuIP#", ICML 2024 (E8P codebook, residual stages); Zandieh et al., "TurboQuant", 2025 (random
 * rotation then per-coordinate-optimal quantization of KV vectors).
 */
public final class E8Codec implements VectorCompressor {

    public static final String NAME = "e8";
    public static final int FORMAT_VERSION = 1;
    public static final int MIN_BITS = 1;
    public static final int MAX_BITS = 4;

    static final byte BOOK_P16 = 1;
    static final byte BOOK_R8 = 2;

    /** Second-stage weights per bits (index = bits), measured on unit Gaussian data (see E8CodecQualityTest). */
    static final float[] DEFAULT_WEIGHT = {0f, 0f, 0f, 0.5f, 0.26f};

    static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private final int dim;
    private final int bits;
    private final int scaleGroup;
    final int groups;
    final int scaleGroups;
    final int groupsPerScale;
    /** [stages] BOOK_P16 or BOOK_R8. */
    final byte[] books;
    /** [stages] stage weights, 1 for stage 0. */
    final float[] weights;
    /** [stages] byte offset of the stage's codes inside a vector. */
    final int[] codeOffset;
    private final int bytesPerVector;
    private final E8Kernels kernels;
    /** The encoder that goes with the kernels: {@link VectorE8Encoder} with the vector ones, else {@link ScalarE8Encoder}. */
    private final E8Encoder encoder;

    /** The codec for vectors of dimension {@code dim} at {@code bits} code bits per value, one scale per vector. */
    public static E8Codec of(int dim, int bits) {
        return of(dim, bits, dim);
    }

    /** As {@link #of(int, int)} with one scale per {@code scaleGroup} values (a multiple of 8 dividing dim). */
    public static E8Codec of(int dim, int bits, int scaleGroup) {
        return new E8Codec(dim, bits, scaleGroup, defaultBooks(bits), defaultWeights(bits), E8Kernels.preferred());
    }

    /** The same codec with the plain scalar kernels (the twin that tests and benchmarks compare against). */
    public static E8Codec scalar(int dim, int bits, int scaleGroup) {
        return new E8Codec(dim, bits, scaleGroup, defaultBooks(bits), defaultWeights(bits), E8Kernels.SCALAR);
    }

    /** The same codec with the Vector API kernels; fails when {@code jdk.incubator.vector} is not present. */
    public static E8Codec vectorized(int dim, int bits, int scaleGroup) {
        if (!Vectorization.enabled()) throw new IllegalStateException("the vector kernels are not used: " + Vectorization.describe());
        return new E8Codec(dim, bits, scaleGroup, defaultBooks(bits), defaultWeights(bits), E8Kernels.vector());
    }

    private static byte[] defaultBooks(int bits) {
        return switch (bits) {
            case 1 -> new byte[]{BOOK_R8};
            case 2 -> new byte[]{BOOK_P16};
            case 3 -> new byte[]{BOOK_P16, BOOK_R8};
            case 4 -> new byte[]{BOOK_P16, BOOK_P16};
            default -> throw new IllegalArgumentException("E8Codec: bits must be 1..4: " + bits);
        };
    }

    private static float[] defaultWeights(int bits) {
        return bits <= 2 ? new float[]{1f} : new float[]{1f, DEFAULT_WEIGHT[bits]};
    }

    private E8Codec(int dim, int bits, int scaleGroup, byte[] books, float[] weights, E8Kernels kernels) {
        if (dim <= 0 || dim % 8 != 0 || dim > (1 << 20)) {
            throw new IllegalArgumentException("E8Codec: dim must be a positive multiple of 8 (at most 2^20): " + dim);
        }
        if (scaleGroup <= 0 || scaleGroup % 8 != 0 || dim % scaleGroup != 0) {
            throw new IllegalArgumentException("E8Codec: scaleGroup must be a multiple of 8 dividing dim " + dim + ": " + scaleGroup);
        }
        this.dim = dim;
        this.bits = bits;
        this.scaleGroup = scaleGroup;
        this.groups = dim / 8;
        this.scaleGroups = dim / scaleGroup;
        this.groupsPerScale = scaleGroup / 8;
        this.books = books;
        this.weights = weights;
        this.codeOffset = new int[books.length];
        int at = 2 * scaleGroups;
        int codeBits = 0;
        for (int st = 0; st < books.length; st++) {
            codeOffset[st] = at;
            int b = books[st] == BOOK_P16 ? 2 : 1;
            at += groups * b;
            codeBits += 8 * b;
        }
        if (codeBits != 8 * bits) throw new IllegalArgumentException("E8Codec: stages give " + codeBits / 8 + " bits, not " + bits);
        this.bytesPerVector = at;
        this.kernels = kernels;
        this.encoder = kernels.encoder(this); // last: the encoder reads the fields above
    }

    /** Recreates a codec from a container's descriptor. */
    public static E8Codec fromDescriptor(CodecDescriptor d) throws IOException {
        if (!NAME.equals(d.name())) throw new IOException("E8Codec: descriptor is for codec '" + d.name() + "'");
        if (d.version() != FORMAT_VERSION) throw new IOException("E8Codec: unsupported format version " + d.version());
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(d.parameters()));
        int dim = in.readInt();
        int bits = in.readUnsignedByte();
        int scaleGroup = in.readInt();
        int stages = in.readUnsignedByte();
        if (bits < MIN_BITS || bits > MAX_BITS) throw new IOException("E8Codec: bits " + bits + " out of range");
        byte[] expect = defaultBooks(bits);
        if (stages != expect.length) throw new IOException("E8Codec: " + stages + " stages for " + bits + " bits");
        float[] w = new float[stages];
        for (int st = 0; st < stages; st++) {
            int book = in.readUnsignedByte();
            if (book != expect[st]) throw new IOException("E8Codec: stage " + st + " codebook " + book);
            w[st] = in.readFloat();
            if (!(w[st] > 0f && w[st] <= 1f)) throw new IOException("E8Codec: stage " + st + " weight " + w[st]);
        }
        if (w[0] != 1f) throw new IOException("E8Codec: stage 0 weight must be 1: " + w[0]);
        if (in.available() != 0) throw new IOException("E8Codec: " + in.available() + " extra parameter bytes");
        E8Codec c;
        try {
            c = new E8Codec(dim, bits, scaleGroup, expect, w, E8Kernels.preferred());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (c.bytesPerBlock() != d.bytesPerBlock() || d.vectorsPerBlock() != 1 || d.dimension() != dim) {
            throw new IOException("E8Codec: descriptor says " + d.bytesPerBlock() + " bytes per block, parameters give " + c.bytesPerBlock());
        }
        return c;
    }

    @Override
    public void writeParameters(DataOutput out) throws IOException {
        out.writeInt(dim);
        out.writeByte(bits);
        out.writeInt(scaleGroup);
        out.writeByte(books.length);
        for (int st = 0; st < books.length; st++) {
            out.writeByte(books[st]);
            out.writeFloat(weights[st]);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int formatVersion() {
        return FORMAT_VERSION;
    }

    @Override
    public int dimension() {
        return dim;
    }

    /** Code bits per value (without the scales). */
    public int codeBits() {
        return bits;
    }

    public int scaleGroup() {
        return scaleGroup;
    }

    @Override
    public int bytesPerBlock() {
        return bytesPerVector;
    }

    /** Same as {@link #bytesPerBlock()}: one vector per block. */
    public int bytesPerVector() {
        return bytesPerVector;
    }

    /** Bits of scales per value: {@code 16 / scaleGroup}. */
    public double scaleBitsPerValue() {
        return 16.0 / scaleGroup;
    }

    /** Which kernel this instance uses: "vector" or "scalar". */
    public String kernel() {
        return kernels.name();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The four operations

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        encode(x, xOff, dst, dstOff);
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        checkIndex(index);
        decode(block, blockOff, out, outOff);
    }

    @Override
    public float dot(float[] q, int qOff, byte[] block, int blockOff, int index) {
        checkIndex(index);
        return dot(q, qOff, block, blockOff);
    }

    @Override
    public void axpy(float w, byte[] block, int blockOff, int index, float[] acc, int accOff) {
        checkIndex(index);
        axpy(w, block, blockOff, acc, accOff);
    }

    /**
     * Encodes {@code x[xOff..xOff+dim)} into {@code dst[dstOff..dstOff+bytesPerVector)}: scales, then codes.
     *
     * @throws IllegalArgumentException if a value is NaN or infinite
     */
    public void encode(float[] x, int xOff, byte[] dst, int dstOff) {
        encode(x, xOff, 1, dst, dstOff);
    }

    /**
     * Encodes {@code count} vectors stored back to back at {@code x[xOff ..]} into {@code count} stored vectors back
     * to back at {@code dst[dstOff ..]}: the same bytes as {@code count} calls of {@link #encode(float[], int, byte[], int)},
     * faster, because the vector encoder fills its lanes with the groups of several vectors.
     *
     * @throws IllegalArgumentException if a value is NaN or infinite (vectors before the offending chunk are written)
     */
    public void encode(float[] x, int xOff, int count, byte[] dst, int dstOff) {
        if (count < 0) throw new IllegalArgumentException("E8Codec: negative count " + count);
        checkRange(x.length, xOff, (long) count * dim, "x");
        checkRange(dst.length, dstOff, (long) count * bytesPerVector, "dst");
        encoder.encode(x, xOff, count, dst, dstOff);
    }

    @Override
    public void encodeBlocks(float[] x, int xOff, int blocks, byte[] dst, int dstOff) {
        encode(x, xOff, blocks, dst, dstOff);
    }

    /** Writes the decoded vector at {@code src[srcOff]} to {@code out[outOff..outOff+dim)}. */
    public void decode(byte[] src, int srcOff, float[] out, int outOff) {
        checkRange(src.length, srcOff, bytesPerVector, "src");
        checkRange(out.length, outOff, dim, "out");
        kernels.decode(this, src, srcOff, out, outOff);
    }

    /** {@code q[qOff..qOff+dim) · decoded}, fused (the decoded vector is never stored). */
    public float dot(float[] q, int qOff, byte[] src, int srcOff) {
        checkRange(src.length, srcOff, bytesPerVector, "src");
        checkRange(q.length, qOff, dim, "q");
        return kernels.dot(this, q, qOff, src, srcOff);
    }

    /** {@code acc[accOff..accOff+dim) += w * decoded}, fused. */
    public void axpy(float w, byte[] src, int srcOff, float[] acc, int accOff) {
        checkRange(src.length, srcOff, bytesPerVector, "src");
        checkRange(acc.length, accOff, dim, "acc");
        kernels.axpy(this, w, src, srcOff, acc, accOff);
    }

    /** The fp16 scale of scale group k of the vector at {@code src[srcOff]}, as float. */
    public float scale(byte[] src, int srcOff, int k) {
        return Float.float16ToFloat((short) SHORT_LE.get(src, srcOff + 2 * k));
    }

    static int code16(byte[] src, int at) {
        return (short) SHORT_LE.get(src, at) & 0xffff;
    }

    private void checkIndex(int index) {
        if (index != 0) throw new IndexOutOfBoundsException("E8Codec: one vector per block, index " + index);
    }

    private static void checkRange(int length, int off, long n, String what) {
        if (off < 0 || off > length - n) {
            throw new IndexOutOfBoundsException("E8Codec: " + what + "[" + off + ", " + off + " + " + n + ") outside an array of " + length);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Encoding: see E8Encoder and its twins

    Codebook book(int st) {
        return books[st] == BOOK_P16 ? E8P16.INSTANCE : E8Root8.INSTANCE;
    }

    @Override
    public String toString() {
        return "E8Codec[dim=" + dim + ", bits=" + bits + ", scaleGroup=" + scaleGroup + ", " + bytesPerVector
                + " bytes/vector = " + String.format("%.4f", bitsPerValue()) + " bits/value, kernel=" + kernel() + "]";
    }
}
