package dev.nexusquant.codec.e8;

import dev.nexusquant.codec.VectorCompressor;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.util.SplittableRandom;

/**
 * E8 codes at a different rate per group of eight values: the codec of transform-coded rows, whose coefficients
 * (sorted by variance, see {@code dev.nexusquant.codec.klt}) get bits by their variance. Group g has a rate
 * {@code r_g} in 0..4 code bits per value (0: not stored, decodes as zero) and a standard deviation
 * {@code sigma_g} known in advance; a row has one fp16 scale s, and group g decodes as
 * <pre>
 *   x_g = s * sigma_g * RATIO[r_g] * (c_0 + w_1 c_1)
 * </pre>
 * with the stages of {@link E8Codec} at that rate (1: E8Root8; 2: E8P16; 3: E8P16 + E8Root8 x 0.5; 4: E8P16 +
 * E8P16 x 0.26) and RATIO the best fixed scale per rate for unit Gaussian data. Every group is thus coded at the
 * step its variance and rate call for, and s follows the row's energy. Bytes per row: {@code 2 + Σ r_g}.
 *
 * <p>Layout: [fp16 s], then per group with r_g &gt; 0 in order its stage codes (uint16 for E8P16, uint8 for E8Root8).
 * Encoding: three candidate scales around the row's variance-normalised rms, each quantized in full, the best kept,
 * then a least-squares refit of s kept when it lowers the error (as E8Codec does per row). Encoding is scalar code;
 * decoding runs {@link E8MixedKernels} (a vector kernel and its scalar twin, the same bits). Immutable and thread-safe.
 */
public final class E8MixedCodec implements VectorCompressor {

    public static final String NAME = "e8mix";
    public static final int FORMAT_VERSION = 1;
    public static final int MAX_RATE = 4;

    private static final float[] SEARCH = {1.0f, 0.92f, 1.09f};
    /** [rate] mean squared error per value of unit Gaussian data at scale RATIO[rate] (rate 0: 1). */
    private static final double[] UNIT_DISTORTION = measureUnitDistortion();

    private final int dim;
    final int groups;
    final byte[] rates;             // [groups]
    private final float[] sigma;    // [groups]
    final float[] step;             // [groups] sigma * RATIO[rate]
    final int[] codeAt;             // [groups] byte offset of the group's codes in a row
    private final E8MixedKernels kernels;
    private final int bytes;
    private final int codedDims;    // values before it may be nonzero; from it on every group has rate 0

    /**
     * @param rates [dim / 8] code bits per value of each group, 0..4
     * @param sigma [dim / 8] standard deviation of each group's values (finite, &gt; 0 where the rate is &gt; 0)
     */
    public E8MixedCodec(int dim, byte[] rates, float[] sigma) {
        if (dim <= 0 || dim % 8 != 0) throw new IllegalArgumentException("E8MixedCodec: dim must be a positive multiple of 8: " + dim);
        this.dim = dim;
        this.groups = dim / 8;
        if (rates.length != groups || sigma.length != groups) {
            throw new IllegalArgumentException("E8MixedCodec: need " + groups + " rates and sigmas, got " + rates.length + " and " + sigma.length);
        }
        this.rates = rates.clone();
        this.sigma = sigma.clone();
        this.step = new float[groups];
        this.codeAt = new int[groups];
        int at = 2;
        for (int g = 0; g < groups; g++) {
            int r = rates[g];
            if (r < 0 || r > MAX_RATE) throw new IllegalArgumentException("E8MixedCodec: rate of group " + g + " must be 0.." + MAX_RATE + ": " + r);
            if (r > 0 && !(Float.isFinite(sigma[g]) && sigma[g] > 0f)) {
                throw new IllegalArgumentException("E8MixedCodec: sigma of group " + g + " must be finite and positive: " + sigma[g]);
            }
            step[g] = r > 0 ? sigma[g] * E8Encoder.RATIO[r] : 0f;
            codeAt[g] = at;
            at += r;
        }
        this.bytes = at;
        int last = groups;
        while (last > 0 && rates[last - 1] == 0) last--;
        this.codedDims = 8 * last;
        this.kernels = E8MixedKernels.preferred();
    }

    private E8MixedCodec(E8MixedCodec c, E8MixedKernels kernels) {
        this.dim = c.dim;
        this.groups = c.groups;
        this.rates = c.rates;
        this.sigma = c.sigma;
        this.step = c.step;
        this.codeAt = c.codeAt;
        this.bytes = c.bytes;
        this.codedDims = c.codedDims;
        this.kernels = kernels;
    }

    /** The same codec decoding with the plain scalar kernel (the twin tests and benchmarks compare against). */
    public E8MixedCodec scalar() {
        return new E8MixedCodec(this, E8MixedKernels.SCALAR);
    }

    /** The name of the decode kernel in use: "vector" or "scalar". */
    public String kernels() {
        return kernels.name();
    }

    /** Mean squared error per value that rate r leaves on unit Gaussian data (rate 0: 1, nothing stored). */
    public static double unitDistortion(int rate) {
        return UNIT_DISTORTION[rate];
    }

    public static E8MixedCodec fromParameters(byte[] parameters) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(parameters));
        int dim = in.readInt();
        if (dim <= 0 || dim % 8 != 0 || dim > 1 << 16) throw new IOException("E8MixedCodec: bad dim " + dim);
        byte[] r = new byte[dim / 8];
        float[] s = new float[dim / 8];
        for (int g = 0; g < r.length; g++) {
            r[g] = in.readByte();
            s[g] = in.readFloat();
        }
        if (in.available() != 0) throw new IOException("E8MixedCodec: " + in.available() + " extra parameter bytes");
        try {
            return new E8MixedCodec(dim, r, s);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * The values a decoded row may hold nonzero: every value at and past this index is in a group of rate 0, which
     * decodes as exactly zero (so a transform of the row may stop its sum there).
     */
    public int codedDims() {
        return codedDims;
    }

    /** Code bits per value of group g. */
    public int rate(int g) {
        return rates[g];
    }

    public float sigma(int g) {
        return sigma[g];
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

    @Override
    public int bytesPerBlock() {
        return bytes;
    }

    @Override
    public void writeParameters(DataOutput out) throws IOException {
        out.writeInt(dim);
        for (int g = 0; g < groups; g++) {
            out.writeByte(rates[g]);
            out.writeFloat(sigma[g]);
        }
    }

    private static Codebook book(int rate, int stage) {
        return rate == 1 || (rate == 3 && stage == 1) ? E8Root8.INSTANCE : E8P16.INSTANCE;
    }

    private static int stages(int rate) {
        return rate == 0 ? 0 : rate <= 2 ? 1 : 2;
    }

    private static float weight(int rate, int stage) {
        return stage == 0 ? 1f : E8Codec.DEFAULT_WEIGHT[rate];
    }

    @Override
    public void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
        double ss = 0;
        int kept = 0;
        for (int g = 0; g < groups; g++) {
            if (rates[g] == 0) continue;
            kept++;
            for (int i = 0; i < 8; i++) {
                float v = x[xOff + 8 * g + i];
                if (!Float.isFinite(v)) throw new IllegalArgumentException("E8MixedCodec: the vector holds a NaN or infinite value at " + (8 * g + i));
                double z = v / sigma[g];
                ss += z * z;
            }
        }
        int[] codes = new int[2 * groups], best = new int[2 * groups];
        float[] unit = new float[dim]; // decoded at s = 1
        float bestScale = 0f;
        if (ss > 0 && kept > 0) {
            float centre = (float) Math.sqrt(ss / (8.0 * kept));
            double bestErr = Double.POSITIVE_INFINITY;
            for (float m : SEARCH) {
                float sc = E8Encoder.toHalfScale(centre * m);
                if (sc == 0f) continue;
                double err = quantize(x, xOff, sc, codes, unit);
                if (err < bestErr) {
                    bestErr = err;
                    bestScale = sc;
                    int[] t = best;
                    best = codes;
                    codes = t;
                }
            }
        }
        if (bestScale != 0f) {
            decodeUnit(best, unit);
            double xu = 0, uu = 0;
            for (int i = 0; i < dim; i++) {
                xu += (double) x[xOff + i] * unit[i];
                uu += (double) unit[i] * unit[i];
            }
            if (uu > 0) {
                float refit = E8Encoder.toHalfScale((float) (xu / uu));
                if (refit > 0f && refit != bestScale && error(x, xOff, unit, refit) < error(x, xOff, unit, bestScale)) bestScale = refit;
            }
        } else {
            java.util.Arrays.fill(best, 0);
        }
        E8Codec.SHORT_LE.set(dst, dstOff, Float.floatToFloat16(bestScale));
        for (int g = 0; g < groups; g++) {
            int r = rates[g];
            int at = dstOff + codeAt[g];
            for (int st = 0; st < stages(r); st++) {
                int c = best[2 * g + st];
                if (book(r, st) == E8P16.INSTANCE) {
                    E8Codec.SHORT_LE.set(dst, at, (short) c);
                    at += 2;
                } else {
                    dst[at++] = (byte) c;
                }
            }
        }
    }

    private double error(float[] x, int xOff, float[] unit, float s) {
        double e = 0;
        for (int i = 0; i < dim; i++) {
            double d = x[xOff + i] - (double) s * unit[i];
            e += d * d;
        }
        return e;
    }

    /** Codes every stored group at row scale sc into codes[2g + stage]; returns the squared error of the row. */
    private double quantize(float[] x, int xOff, float sc, int[] codes, float[] work) {
        float[] z = new float[8], p = new float[8];
        double err = 0;
        for (int g = 0; g < groups; g++) {
            int r = rates[g];
            if (r == 0) {
                for (int i = 0; i < 8; i++) err += (double) x[xOff + 8 * g + i] * x[xOff + 8 * g + i];
                continue;
            }
            float a = sc * step[g];
            float inv = 1f / a;
            for (int i = 0; i < 8; i++) z[i] = E8Encoder.clamp(x[xOff + 8 * g + i] * inv);
            for (int st = 0; st < stages(r); st++) {
                float w = weight(r, st);
                if (st > 0) for (int i = 0; i < 8; i++) z[i] /= w;
                codes[2 * g + st] = book(r, st).encode(z, 0, p, 0);
                for (int i = 0; i < 8; i++) z[i] -= p[i];
                if (st > 0) for (int i = 0; i < 8; i++) z[i] *= w;
            }
            for (int i = 0; i < 8; i++) err += (double) z[i] * z[i] * a * a;
        }
        return err;
    }

    /** The row at s = 1 from codes[2g + stage]. */
    private void decodeUnit(int[] codes, float[] out) {
        float[] p = new float[8];
        java.util.Arrays.fill(out, 0f);
        for (int g = 0; g < groups; g++) {
            int r = rates[g];
            for (int st = 0; st < stages(r); st++) {
                book(r, st).decode(codes[2 * g + st], p, 0);
                float w = weight(r, st) * step[g];
                for (int i = 0; i < 8; i++) out[8 * g + i] += w * p[i];
            }
        }
    }

    @Override
    public void decode(byte[] block, int blockOff, int index, float[] out, int outOff) {
        if (index != 0) throw new IndexOutOfBoundsException("E8MixedCodec: one vector per block, index " + index);
        kernels.decode(this, block, blockOff, out, outOff);
    }

    @Override
    public float dot(float[] q, int qOff, byte[] block, int blockOff, int index) {
        return VectorCompressor.dotByDecoding(this, q, qOff, block, blockOff, index);
    }

    @Override
    public void axpy(float w, byte[] block, int blockOff, int index, float[] acc, int accOff) {
        VectorCompressor.axpyByDecoding(this, w, block, blockOff, index, acc, accOff);
    }

    /** Unit Gaussian groups (fixed seed) quantized at each rate's fixed scale: the rate-distortion table. */
    private static double[] measureUnitDistortion() {
        int n = 4096;
        SplittableRandom rnd = new SplittableRandom(0x5eedL);
        float[] x = new float[8 * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        double[] d = new double[MAX_RATE + 1];
        d[0] = 1;
        float[] z = new float[8], p = new float[8];
        for (int r = 1; r <= MAX_RATE; r++) {
            float a = E8Encoder.RATIO[r];
            double err = 0;
            for (int g = 0; g < n; g++) {
                for (int i = 0; i < 8; i++) z[i] = x[8 * g + i] / a;
                for (int st = 0; st < stages(r); st++) {
                    float w = weight(r, st);
                    if (st > 0) for (int i = 0; i < 8; i++) z[i] /= w;
                    book(r, st).encode(z, 0, p, 0);
                    for (int i = 0; i < 8; i++) z[i] -= p[i];
                    if (st > 0) for (int i = 0; i < 8; i++) z[i] *= w;
                }
                for (int i = 0; i < 8; i++) err += (double) z[i] * z[i] * a * a;
            }
            d[r] = err / (8.0 * n);
        }
        return d;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("E8MixedCodec[dim=" + dim + ", " + bytes + " bytes/vector, rates=");
        for (byte r : rates) sb.append(r);
        return sb.append(']').toString();
    }
}
