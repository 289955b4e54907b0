package dev.nexusquant.codec.e8;

/**
 * The plain encoder: one scale group at a time, its candidate scales one after the other with early stopping, each
 * group of eight values through the codebooks' own nearest-point searches. The reference that {@link VectorE8Encoder}
 * reproduces bit for bit.
 */
final class ScalarE8Encoder extends E8Encoder {

    /** Per-thread work arrays, so that encoding allocates nothing. */
    private static final class Scratch {
        final float[] z = new float[8];
        final float[] point = new float[8];
        /** [stages][groupsPerScale] codes of the candidate being tried and of the best one. */
        int[][] codes;
        int[][] best;
        /** [scaleGroup] decoded values at unit scale for the best codes. */
        final float[] unit;
        /** The refit's two sums. */
        final double[] sums = new double[2];

        Scratch(E8Codec c) {
            codes = new int[c.books.length][c.groupsPerScale];
            best = new int[c.books.length][c.groupsPerScale];
            unit = new float[c.scaleGroup()];
        }
    }

    private final ThreadLocal<Scratch> scratch;

    ScalarE8Encoder(E8Codec c) {
        super(c);
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(c));
    }

    @Override
    void encode(float[] x, int xOff, int count, byte[] dst, int dstOff) {
        Scratch s = scratch.get();
        int dim = c.dimension(), bytes = c.bytesPerVector();
        for (int v = 0; v < count; v++) {
            for (int k = 0; k < c.scaleGroups; k++) {
                encodeScaleGroup(x, xOff + v * dim + k * scaleGroup, k, dst, dstOff + v * bytes, s);
            }
        }
    }

    private void encodeScaleGroup(float[] x, int xOff, int k, byte[] dst, int dstOff, Scratch s) {
        double ss = checkedSumOfSquares(x, xOff, k);
        float bestScale = 0f;
        if (ss > 0) {
            float centre = centreScale(ss);
            double bestErr = Double.POSITIVE_INFINITY;
            for (int ci = 0; ci < CANDIDATES; ci++) {
                float sc = toHalfScale(centre * search(ci));
                if (sc == 0f) continue;
                double err = quantize(x, xOff, sc, s.codes, s, bestErr);
                if (err < bestErr) {
                    bestErr = err;
                    bestScale = sc;
                    int[][] t = s.best;
                    s.best = s.codes;
                    s.codes = t;
                }
            }
        }
        if (bestScale != 0f) unitDecode(s.best, s.unit, s);
        finishScaleGroup(x, xOff, k, bestScale, s.best, 0, s.unit, dst, dstOff, s.sums);
    }

    /**
     * The per-group quantization of one scale group at scale {@code sc}: codes into {@code codes[stage][group]},
     * returns the squared error (stops early, past {@code bound}).
     */
    private double quantize(float[] x, int xOff, float sc, int[][] codes, Scratch s, double bound) {
        float inv = 1f / sc;
        float[] z = s.z;
        float[] p = s.point;
        double err = 0;
        for (int g = 0; g < c.groupsPerScale; g++) {
            int at = xOff + 8 * g;
            for (int i = 0; i < 8; i++) z[i] = clamp(x[at + i] * inv);
            // stage 0 codes z; stage st codes the residual divided by its weight
            for (int st = 0; st < c.books.length; st++) {
                float w = c.weights[st];
                if (st > 0) {
                    float iw = 1f / w;
                    for (int i = 0; i < 8; i++) z[i] *= iw;
                }
                codes[st][g] = c.book(st).encode(z, 0, p, 0);
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

    /** The scale group's decoded values at unit scale, {@code c_0 + w_1 c_1}, for codes[stage][group]. */
    private void unitDecode(int[][] codes, float[] unit, Scratch s) {
        float[] p = s.point;
        java.util.Arrays.fill(unit, 0f);
        for (int st = 0; st < c.books.length; st++) {
            Codebook b = c.book(st);
            float w = c.weights[st];
            for (int g = 0; g < c.groupsPerScale; g++) {
                b.decode(codes[st][g], p, 0);
                for (int i = 0; i < 8; i++) unit[8 * g + i] += w * p[i];
            }
        }
    }

    @Override
    double sumOfSquares(float[] x, int xOff, int n) {
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

    @Override
    void refitSums(float[] x, int xOff, float[] unit, int n, double[] sums) {
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

    @Override
    boolean refitIsBetter(float[] x, int xOff, float[] unit, int n, float r, float b) {
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
}
