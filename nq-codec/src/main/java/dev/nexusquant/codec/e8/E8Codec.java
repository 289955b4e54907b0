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
 * per group) and a scalar twin otherwise; {@link #scalar} and {@link #vectorized} pick one explicitly. Encoding with the
 * Vector API ({@link VectorE8Encoder}) codes one group per lane, many groups at a time, and is fastest when
 * {@link #encode(float[], int, int, byte[], int)} is given many vectors at once; it writes the same bytes as the
 * scalar encoder ({@link #quantizeScalar}, one scale group at a time), which tests check. Immutable and thread-safe
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
    /** Best fixed scale / rms for unit Gaussian data, per bits (the centre of the scale search). */
    static final float[] RATIO = {0f, 1.63f, 0.965f, 1.01f, 1.14f};
    /** Multipliers of the scale search, the centre first (the others then often stop early, past the best error). */
    static float[] SEARCH = {1.0f, 0.92f, 1.09f};

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
    /** Whether encoding uses {@link VectorE8Encoder} (with the vector kernels) or the scalar per-group loop. */
    private final boolean vectorEncoder;
    private final ThreadLocal<Scratch> scratch;

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
        this.vectorEncoder = kernels != E8Kernels.SCALAR;
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(this));
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
        Scratch s = scratch.get();
        if (!vectorEncoder) {
            for (int v = 0; v < count; v++) {
                for (int k = 0; k < scaleGroups; k++) {
                    encodeScaleGroup(x, xOff + v * dim + k * scaleGroup, k, dst, dstOff + v * bytesPerVector, s);
                }
            }
            return;
        }
        for (int v0 = 0; v0 < count; v0 += s.chunkVectors) {
            int n = Math.min(s.chunkVectors, count - v0);
            encodeChunk(x, xOff + v0 * dim, n, dst, dstOff + v0 * bytesPerVector, s);
        }
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
    // Encoding

    /** Per-thread work arrays, so that encoding allocates nothing. */
    static final class Scratch {
        final float[] z = new float[8];
        final float[] point = new float[8];
        /** [stages][groupsPerScale] codes of the candidate being tried and of the best one (scalar encoder). */
        int[][] codes;
        int[][] best;
        /** [scaleGroup] decoded values at unit scale for the best codes. */
        final float[] unit;
        /** The refit's two sums. */
        final double[] sums = new double[2];
        /** Vectors per chunk of the batched encoder, and its work space. */
        final int chunkVectors;
        /** [candidates][stages][chunk groups, whole batches] the codes of each candidate scale. */
        final int[][][] candCodes;
        /** [candidates][chunk groups, whole batches] per group: each candidate's squared error at unit scale. */
        final float[][] candErr;
        /** [chunk groups] 1 / the candidate's scale. */
        final float[] laneInv;
        /**
         * Small chunks (fewer than SIDE_BY_SIDE_BELOW groups, whole batches): the chunk once per candidate, side by
         * side in one work space; [stages][lanes] the codes, [lanes] the errors and 1 / the scales. Null where a
         * vector alone has that many groups.
         */
        final VectorE8Encoder.Work side;
        final int[][] sideCodes;
        final float[] sideErr;
        final float[] sideInv;
        /** [candidates] where each candidate's codes, errors and unit-scale points are, for the chunk at hand. */
        final int[][][] codesOf;
        final float[][] errOf;
        final float[][] units;
        final int[] laneBase;
        /** [chunk scale groups] the candidate each scale group keeps. */
        final int[] bestCandidate;
        /** [chunk scale groups] sums of squares, centre scales, the best error and scale. */
        final double[] sumSquares;
        final float[] centre;
        final double[] bestErr;
        final float[] bestScale;
        final VectorE8Encoder.Work work;

        Scratch(E8Codec c) {
            codes = new int[c.books.length][c.groupsPerScale];
            best = new int[c.books.length][c.groupsPerScale];
            unit = new float[c.scaleGroup];
            if (c.vectorEncoder) {
                chunkVectors = Math.max(1, CHUNK_GROUPS / c.groups);
                int g = chunkVectors * c.groups;
                int q = chunkVectors * c.scaleGroups;
                int padded = padded(g);
                candCodes = new int[SEARCH.length][c.books.length][padded]; // whole batches: every lane is written
                candErr = new float[SEARCH.length][padded];
                laneInv = new float[g];
                if (c.groups < SIDE_BY_SIDE_BELOW) {
                    int lanes = SEARCH.length * SIDE_BY_SIDE_BELOW;
                    side = new VectorE8Encoder.Work(lanes, 1, c.books.length);
                    sideCodes = new int[c.books.length][lanes];
                    sideErr = new float[lanes];
                    sideInv = new float[lanes];
                } else {
                    side = null;
                    sideCodes = null;
                    sideErr = sideInv = null;
                }
                codesOf = new int[SEARCH.length][][];
                errOf = new float[SEARCH.length][];
                units = new float[SEARCH.length][];
                laneBase = new int[SEARCH.length];
                bestCandidate = new int[q];
                sumSquares = new double[q];
                centre = new float[q];
                bestErr = new double[q];
                bestScale = new float[q];
                work = new VectorE8Encoder.Work(g, SEARCH.length, c.books.length);
            } else {
                chunkVectors = 1;
                candCodes = null;
                candErr = null;
                side = null;
                sideCodes = null;
                sideErr = sideInv = null;
                codesOf = null;
                errOf = null;
                units = null;
                laneBase = null;
                bestCandidate = null;
                laneInv = centre = bestScale = null;
                sumSquares = bestErr = null;
                work = null;
            }
        }
    }

    /** Groups of eight values that the batched encoder takes at a time (whole vectors, at least one). */
    static final int CHUNK_GROUPS = 256;

    /**
     * Chunks of fewer groups than this (in whole batches) quantize the candidate scales side by side in one pass,
     * so that the groups outside E8P16's ball of all three share the overload queue's batches: one vector of 128 per
     * call codes about 1.4x faster. Larger chunks fill the queue by themselves and run the candidates one after the
     * other, which keeps the work space smaller (side by side was 3-7% slower for them).
     */
    static final int SIDE_BY_SIDE_BELOW = 64;

    /** g rounded up to whole batches of the vector encoder. */
    static int padded(int g) {
        return (g + VectorE8Encoder.LANES - 1) / VectorE8Encoder.LANES * VectorE8Encoder.LANES;
    }

    Codebook book(int st) {
        return books[st] == BOOK_P16 ? E8P16.INSTANCE : E8Root8.INSTANCE;
    }

    /** The sum of squares of a scale group (in double, four interleaved partial sums), checked finite. */
    private double checkedSumOfSquares(float[] x, int xOff, int k) {
        double ss = vectorEncoder ? VectorE8Encoder.sumOfSquares(x, xOff, scaleGroup) : sumOfSquares(x, xOff, scaleGroup);
        if (!Double.isFinite(ss)) {
            throw new IllegalArgumentException("E8Codec: the vector holds a NaN or infinite value (scale group " + k + ")");
        }
        return ss;
    }

    /** Σ x² over n values, in double as four partial sums over the values i = p (mod 4), added (s0 + s1) + (s2 + s3). */
    static double sumOfSquares(float[] x, int xOff, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < n; i += 4) {
            double v0 = x[xOff + i], v1 = x[xOff + i + 1], v2 = x[xOff + i + 2], v3 = x[xOff + i + 3];
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** The centre of the scale search for a scale group with sum of squares ss: its rms times the rate's ratio. */
    private float centreScale(double ss) {
        return (float) Math.sqrt(ss / scaleGroup) * RATIO[bits];
    }

    /** The scalar encoder: one scale group, its candidate scales one after the other with early stopping. */
    private void encodeScaleGroup(float[] x, int xOff, int k, byte[] dst, int dstOff, Scratch s) {
        double ss = checkedSumOfSquares(x, xOff, k);
        float bestScale = 0f;
        if (ss > 0) {
            float centre = centreScale(ss);
            double bestErr = Double.POSITIVE_INFINITY;
            for (float m : SEARCH) {
                float sc = toHalfScale(centre * m);
                if (sc == 0f) continue;
                double err = quantizeScalar(x, xOff, sc, s.codes, s, bestErr);
                if (err < bestErr) {
                    bestErr = err;
                    bestScale = sc;
                    int[][] t = s.best;
                    s.best = s.codes;
                    s.codes = t;
                }
            }
        }
        if (bestScale != 0f) unitDecode(s.best, 0, s.unit, s);
        finishScaleGroup(x, xOff, k, bestScale, s.best, 0, s.unit, dst, dstOff, s);
    }

    /**
     * The batched encoder: {@code n} whole vectors at once. For each candidate multiplier, every group of the chunk
     * is quantized at its scale group's candidate scale ({@link VectorE8Encoder}, a lane per group): a small chunk
     * with the three candidates side by side in one pass (see {@link #SIDE_BY_SIDE_BELOW}), a larger one candidate
     * after candidate. Then each scale group keeps its best candidate as {@link #encodeScaleGroup} would (the first
     * strictly smaller error, the error summed in double over its groups in order), and the same refit and layout
     * follow.
     */
    private void encodeChunk(float[] x, int xOff, int n, byte[] dst, int dstOff, Scratch s) {
        int q = n * scaleGroups;
        int g = n * groups;
        for (int k = 0; k < q; k++) {
            double ss = checkedSumOfSquares(x, xOff + k * scaleGroup, k % scaleGroups);
            s.sumSquares[k] = ss;
            s.centre[k] = ss > 0 ? centreScale(ss) : 0f;
            s.bestErr[k] = Double.POSITIVE_INFINITY;
            s.bestScale[k] = 0f;
        }
        int stride = padded(g);
        if (s.side != null && stride < SIDE_BY_SIDE_BELOW) {
            // the candidates side by side: lanes [ci * stride, (ci + 1) * stride), padding lanes at scale 0
            VectorE8Encoder.transpose(x, xOff, g, s.side);
            VectorE8Encoder.replicate(s.side, stride, SEARCH.length);
            for (int ci = 0; ci < SEARCH.length; ci++) {
                fillInverseScales(s, q, ci, s.sideInv, ci * stride);
                java.util.Arrays.fill(s.sideInv, ci * stride + g, (ci + 1) * stride, 0f);
            }
            float[] u = VectorE8Encoder.quantize(this, SEARCH.length * stride, s.sideInv, s.side, s.sideCodes,
                    s.sideErr, 0);
            for (int ci = 0; ci < SEARCH.length; ci++) {
                s.codesOf[ci] = s.sideCodes;
                s.errOf[ci] = s.sideErr;
                s.units[ci] = u;
                s.laneBase[ci] = ci * stride;
            }
        } else {
            // one candidate after the other, each in its own arrays
            VectorE8Encoder.transpose(x, xOff, g, s.work);
            for (int ci = 0; ci < SEARCH.length; ci++) {
                boolean any = fillInverseScales(s, q, ci, s.laneInv, 0);
                s.codesOf[ci] = s.candCodes[ci];
                s.errOf[ci] = s.candErr[ci];
                s.laneBase[ci] = 0;
                if (any) {
                    s.units[ci] = VectorE8Encoder.quantize(this, g, s.laneInv, s.work, s.candCodes[ci], s.candErr[ci], ci);
                }
            }
        }
        // each scale group keeps the first candidate with a strictly smaller error, summed in double in group order
        for (int ci = 0; ci < SEARCH.length; ci++) {
            float[] err = s.errOf[ci];
            for (int k = 0; k < q; k++) {
                float sc = candidateScale(s, k, ci);
                if (sc == 0f) continue;
                int first = s.laneBase[ci] + k * groupsPerScale;
                double e = 0;
                for (int j = first; j < first + groupsPerScale; j++) e += (double) err[j] * sc * sc;
                if (e < s.bestErr[k]) {
                    s.bestErr[k] = e;
                    s.bestScale[k] = sc;
                    s.bestCandidate[k] = ci;
                }
            }
        }
        for (int k = 0; k < q; k++) {
            int v = k / scaleGroups;
            int ci = s.bestCandidate[k];
            int first = s.laneBase[ci] + k * groupsPerScale;
            if (s.bestScale[k] != 0f) VectorE8Encoder.untranspose(s.units[ci], first, groupsPerScale, s.unit);
            finishScaleGroup(x, xOff + k * scaleGroup, k % scaleGroups, s.bestScale[k], s.codesOf[ci], first,
                    s.unit, dst, dstOff + v * bytesPerVector, s);
        }
    }

    /**
     * 1 / candidate ci's scale (0 where the scale is 0) for every group of the chunk's q scale groups, into
     * {@code inv[base ..]}; whether any scale group has a nonzero scale.
     */
    private boolean fillInverseScales(Scratch s, int q, int ci, float[] inv, int base) {
        boolean any = false;
        for (int k = 0; k < q; k++) {
            float sc = candidateScale(s, k, ci);
            any |= sc != 0f;
            float v = sc != 0f ? 1f / sc : 0f;
            java.util.Arrays.fill(inv, base + k * groupsPerScale, base + (k + 1) * groupsPerScale, v);
        }
        return any;
    }

    /** Candidate ci's scale for scale group k of the chunk: the centre times SEARCH[ci], in fp16; 0 for zeros. */
    private float candidateScale(Scratch s, int k, int ci) {
        return s.sumSquares[k] > 0 ? toHalfScale(s.centre[k] * SEARCH[ci]) : 0f;
    }

    /**
     * Writes scale group k of the vector at {@code dst[dstOff]}: the least-squares refit of the chosen scale to the
     * chosen codes {@code codes[stage][first ..]} ({@code s = <x, u> / <u, u>}, u = {@code unit[0 .. scaleGroup)} the
     * decoded values at unit scale), kept when it lowers the error, then the scale and the codes. A scale of 0 writes
     * zero codes. The sums are in double, each as four partial sums over the values i = p (mod 4), added
     * {@code (s0 + s1) + (s2 + s3)}: {@link #refitSums} and {@link #refitIsBetter} here, and the same four sums in four
     * double lanes in {@link VectorE8Encoder} for the vector encoder.
     */
    private void finishScaleGroup(float[] x, int xOff, int k, float bestScale, int[][] codes, int first,
                                  float[] unit, byte[] dst, int dstOff, Scratch s) {
        int g0 = k * groupsPerScale;
        if (bestScale == 0f) {
            // all zeros, or every candidate rounded to fp16 zero (the values are below fp16's range)
            SHORT_LE.set(dst, dstOff + 2 * k, Float.floatToFloat16(0f));
            for (int st = 0; st < books.length; st++) {
                int w = books[st] == BOOK_P16 ? 2 : 1;
                java.util.Arrays.fill(dst, dstOff + codeOffset[st] + w * g0, dstOff + codeOffset[st] + w * (g0 + groupsPerScale), (byte) 0);
            }
            return;
        }
        double[] sums = s.sums;
        if (vectorEncoder) VectorE8Encoder.refitSums(x, xOff, unit, scaleGroup, sums);
        else refitSums(x, xOff, unit, scaleGroup, sums);
        double xu = sums[0];
        double uu = sums[1];
        if (uu > 0) {
            float refit = toHalfScale((float) (xu / uu));
            if (refit > 0f && refit != bestScale) {
                boolean better = vectorEncoder ? VectorE8Encoder.refitIsBetter(x, xOff, unit, scaleGroup, refit, bestScale)
                        : refitIsBetter(x, xOff, unit, scaleGroup, refit, bestScale);
                if (better) bestScale = refit;
            }
        }
        SHORT_LE.set(dst, dstOff + 2 * k, Float.floatToFloat16(bestScale));
        for (int st = 0; st < books.length; st++) {
            int[] c = codes[st];
            if (books[st] == BOOK_P16) {
                for (int g = 0; g < groupsPerScale; g++) {
                    SHORT_LE.set(dst, dstOff + codeOffset[st] + 2 * (g0 + g), (short) c[first + g]);
                }
            } else {
                for (int g = 0; g < groupsPerScale; g++) {
                    dst[dstOff + codeOffset[st] + g0 + g] = (byte) c[first + g];
                }
            }
        }
    }

    /** Rounds a positive scale to fp16 (to the largest finite fp16 value if it is above the range). */
    static float toHalfScale(float s) {
        return Float.float16ToFloat(Float.floatToFloat16(Math.min(s, 65504f)));
    }

    /**
     * The plain per-group quantization: the reference that {@link VectorE8Encoder} reproduces bit for bit. Inputs
     * are clamped to |z| &lt;= 2^18 (only reachable when the scale hit the fp16 maximum).
     */
    double quantizeScalar(float[] x, int xOff, float sc, int[][] codes, Scratch s, double bound) {
        float inv = 1f / sc;
        float[] z = s.z;
        float[] p = s.point;
        double err = 0;
        for (int g = 0; g < groupsPerScale; g++) {
            int at = xOff + 8 * g;
            for (int i = 0; i < 8; i++) z[i] = clamp(x[at + i] * inv);
            // stage 0 codes z; stage st codes the residual divided by its weight
            for (int st = 0; st < books.length; st++) {
                float w = weights[st];
                if (st > 0) {
                    float iw = 1f / w;
                    for (int i = 0; i < 8; i++) z[i] *= iw;
                }
                codes[st][g] = book(st).encode(z, 0, p, 0);
                for (int i = 0; i < 8; i++) z[i] -= p[i];
                if (st > 0) {
                    for (int i = 0; i < 8; i++) z[i] *= w;
                }
            }
            float e = 0;
            for (int i = 0; i < 8; i++) e += z[i] * z[i];
            err += (double) e * sc * sc;
            if (err >= bound) return err;
        }
        return err;
    }

    static final float CLAMP = 1 << 18;

    static float clamp(float v) {
        return Math.max(-CLAMP, Math.min(CLAMP, v));
    }

    /** The scale group's decoded values at unit scale, {@code c_0 + w_1 c_1}, for codes[stage][first + group]. */
    private void unitDecode(int[][] codes, int first, float[] unit, Scratch s) {
        float[] p = s.point;
        java.util.Arrays.fill(unit, 0f);
        for (int st = 0; st < books.length; st++) {
            Codebook b = book(st);
            float w = weights[st];
            for (int g = 0; g < groupsPerScale; g++) {
                b.decode(codes[st][first + g], p, 0);
                for (int i = 0; i < 8; i++) unit[8 * g + i] += w * p[i];
            }
        }
    }

    /** {@code <x, u>} and {@code <u, u>} over n values into sums[0], sums[1] (see finishScaleGroup). */
    static void refitSums(float[] x, int xOff, float[] unit, int n, double[] sums) {
        double xu0 = 0, xu1 = 0, xu2 = 0, xu3 = 0, uu0 = 0, uu1 = 0, uu2 = 0, uu3 = 0;
        for (int i = 0; i < n; i += 4) {
            double u0 = unit[i], u1 = unit[i + 1], u2 = unit[i + 2], u3 = unit[i + 3];
            xu0 += x[xOff + i] * u0;
            xu1 += x[xOff + i + 1] * u1;
            xu2 += x[xOff + i + 2] * u2;
            xu3 += x[xOff + i + 3] * u3;
            uu0 += u0 * u0;
            uu1 += u1 * u1;
            uu2 += u2 * u2;
            uu3 += u3 * u3;
        }
        sums[0] = (xu0 + xu1) + (xu2 + xu3);
        sums[1] = (uu0 + uu1) + (uu2 + uu3);
    }

    /** Whether {@code Σ (x - r u)²} is below {@code Σ (x - b u)²} over n values (see finishScaleGroup). */
    static boolean refitIsBetter(float[] x, int xOff, float[] unit, int n, float r, float b) {
        double r0 = 0, r1 = 0, r2 = 0, r3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (int i = 0; i < n; i += 4) {
            double x0 = x[xOff + i], x1 = x[xOff + i + 1], x2 = x[xOff + i + 2], x3 = x[xOff + i + 3];
            double u0 = unit[i], u1 = unit[i + 1], u2 = unit[i + 2], u3 = unit[i + 3];
            double d;
            d = x0 - r * u0; r0 += d * d;
            d = x1 - r * u1; r1 += d * d;
            d = x2 - r * u2; r2 += d * d;
            d = x3 - r * u3; r3 += d * d;
            d = x0 - b * u0; b0 += d * d;
            d = x1 - b * u1; b1 += d * d;
            d = x2 - b * u2; b2 += d * d;
            d = x3 - b * u3; b3 += d * d;
        }
        return (r0 + r1) + (r2 + r3) < (b0 + b1) + (b2 + b3);
    }

    @Override
    public String toString() {
        return "E8Codec[dim=" + dim + ", bits=" + bits + ", scaleGroup=" + scaleGroup + ", " + bytesPerVector
                + " bytes/vector = " + String.format("%.4f", bitsPerValue()) + " bits/value, kernel=" + kernel() + "]";
    }
}
