package dev.nexusquant.codec.e8;

/**
 * Encodes whole vectors in the format of an {@link E8Codec}. Two twins write the same bytes: {@link ScalarE8Encoder},
 * one scale group at a time with plain loops, and {@link VectorE8Encoder}, batched, one group of eight values per lane
 * of the Vector API; the codec's {@link E8Kernels} twin makes the one that goes with it (as it decodes), and
 * {@code E8EncoderStabilityTest} checks both against the codes of the first encoder.
 *
 * <p>What both share lives here: the scale search's candidates, the fp16 rounding of scales, and the last step of a
 * scale group ({@link #finishScaleGroup}: the least-squares refit and the layout), whose double sums each twin computes
 * in its own way and to the same bits.
 */
abstract sealed class E8Encoder permits ScalarE8Encoder, VectorE8Encoder {

    /** Best fixed scale / rms for unit Gaussian data, per bits (the centre of the scale search). */
    static final float[] RATIO = {0f, 1.63f, 0.965f, 1.01f, 1.14f};
    /** Multipliers of the scale search, the centre first (the others then often stop early, past the best error). */
    private static final float[] SEARCH = {1.0f, 0.92f, 1.09f};
    /** Candidate scales per scale group. */
    static final int CANDIDATES = SEARCH.length;
    /** Inputs are clamped to |z| <= 2^18 (only reachable when the scale hit the fp16 maximum). */
    static final float CLAMP = 1 << 18;

    final E8Codec c;
    final int scaleGroup;

    E8Encoder(E8Codec c) {
        this.c = c;
        this.scaleGroup = c.scaleGroup();
    }

    /** Encodes {@code count} vectors back to back (see {@link E8Codec#encode(float[], int, int, byte[], int)}). */
    abstract void encode(float[] x, int xOff, int count, byte[] dst, int dstOff);

    /** Σ x² over n values, in double as four partial sums over i = p (mod 4), added (s0 + s1) + (s2 + s3). */
    abstract double sumOfSquares(float[] x, int xOff, int n);

    /** {@code <x, u>} and {@code <u, u>} over n values into sums[0], sums[1], four partial sums each. */
    abstract void refitSums(float[] x, int xOff, float[] unit, int n, double[] sums);

    /** Whether {@code Σ (x - r u)²} is below {@code Σ (x - b u)²} over n values, four partial sums each. */
    abstract boolean refitIsBetter(float[] x, int xOff, float[] unit, int n, float r, float b);

    /** Multiplier ci of the scale search. */
    static float search(int ci) {
        return SEARCH[ci];
    }

    /** The sum of squares of scale group k, checked finite. */
    final double checkedSumOfSquares(float[] x, int xOff, int k) {
        double ss = sumOfSquares(x, xOff, scaleGroup);
        if (!Double.isFinite(ss)) {
            throw new IllegalArgumentException("E8Codec: the vector holds a NaN or infinite value (scale group " + k + ")");
        }
        return ss;
    }

    /** The centre of the scale search for a scale group with sum of squares ss: its rms times the rate's ratio. */
    final float centreScale(double ss) {
        return (float) Math.sqrt(ss / scaleGroup) * RATIO[c.codeBits()];
    }

    /** Rounds a positive scale to fp16 (to the largest finite fp16 value if it is above the range). */
    static float toHalfScale(float s) {
        return Float.float16ToFloat(Float.floatToFloat16(Math.min(s, 65504f)));
    }

    static float clamp(float v) {
        return Math.max(-CLAMP, Math.min(CLAMP, v));
    }

    /**
     * Writes scale group k of the vector at {@code dst[dstOff]}: the least-squares refit of the chosen scale to the
     * chosen codes {@code codes[stage][first ..]} ({@code s = <x, u> / <u, u>}, u = {@code unit[0 .. scaleGroup)} the
     * decoded values at unit scale), kept when it lowers the error, then the scale and the codes. A scale of 0 writes
     * zero codes.
     */
    final void finishScaleGroup(float[] x, int xOff, int k, float bestScale, int[][] codes, int first,
                                float[] unit, byte[] dst, int dstOff, double[] sums) {
        byte[] books = c.books;
        int groupsPerScale = c.groupsPerScale;
        int g0 = k * groupsPerScale;
        if (bestScale == 0f) {
            // all zeros, or every candidate rounded to fp16 zero (the values are below fp16's range)
            E8Codec.SHORT_LE.set(dst, dstOff + 2 * k, Float.floatToFloat16(0f));
            for (int st = 0; st < books.length; st++) {
                int w = books[st] == E8Codec.BOOK_P16 ? 2 : 1;
                java.util.Arrays.fill(dst, dstOff + c.codeOffset[st] + w * g0, dstOff + c.codeOffset[st] + w * (g0 + groupsPerScale), (byte) 0);
            }
            return;
        }
        refitSums(x, xOff, unit, scaleGroup, sums);
        double xu = sums[0];
        double uu = sums[1];
        if (uu > 0) {
            float refit = toHalfScale((float) (xu / uu));
            if (refit > 0f && refit != bestScale && refitIsBetter(x, xOff, unit, scaleGroup, refit, bestScale)) {
                bestScale = refit;
            }
        }
        E8Codec.SHORT_LE.set(dst, dstOff + 2 * k, Float.floatToFloat16(bestScale));
        for (int st = 0; st < books.length; st++) {
            int[] cs = codes[st];
            if (books[st] == E8Codec.BOOK_P16) {
                for (int g = 0; g < groupsPerScale; g++) {
                    E8Codec.SHORT_LE.set(dst, dstOff + c.codeOffset[st] + 2 * (g0 + g), (short) cs[first + g]);
                }
            } else {
                for (int g = 0; g < groupsPerScale; g++) {
                    dst[dstOff + c.codeOffset[st] + g0 + g] = (byte) cs[first + g];
                }
            }
        }
    }
}
