package dev.nexusquant.codec.baseline;

/**
 * Lloyd-Max (MSE-optimal scalar) quantizer levels for a unit Gaussian, computed once per rate by the Lloyd
 * iteration (thresholds at midpoints, levels at conditional means) to convergence.
 */
final class LloydMax {

    private static final float[][] CACHE = new float[9][];

    private LloydMax() {
    }

    /** The {@code 2^bits} levels, ascending. */
    static synchronized float[] levels(int bits) {
        if (CACHE[bits] == null) CACHE[bits] = compute(bits);
        return CACHE[bits];
    }

    /** Index of the level nearest to x. */
    static int nearest(float[] lv, float x) {
        int lo = 0, hi = lv.length - 1;
        while (lo < hi) { // first level whose upper threshold is above x
            int mid = (lo + hi) >>> 1;
            if (x > 0.5f * (lv[mid] + lv[mid + 1])) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static float[] compute(int bits) {
        int n = 1 << bits;
        double[] lv = new double[n];
        for (int i = 0; i < n; i++) lv[i] = -3 + 6.0 * (i + 0.5) / n;
        for (int it = 0; it < 2000; it++) {
            double[] next = new double[n];
            for (int i = 0; i < n; i++) {
                double a = i == 0 ? Double.NEGATIVE_INFINITY : 0.5 * (lv[i - 1] + lv[i]);
                double b = i == n - 1 ? Double.POSITIVE_INFINITY : 0.5 * (lv[i] + lv[i + 1]);
                double mass = cdf(b) - cdf(a);
                next[i] = mass > 0 ? (pdf(a) - pdf(b)) / mass : lv[i];
            }
            lv = next;
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) lv[i];
        return out;
    }

    private static double pdf(double x) {
        return Double.isInfinite(x) ? 0 : Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    }

    private static double cdf(double x) {
        if (x == Double.NEGATIVE_INFINITY) return 0;
        if (x == Double.POSITIVE_INFINITY) return 1;
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /** Complementary error function, relative error below 1.2e-7 (Chebyshev fit, Numerical Recipes' erfcc). */
    private static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
