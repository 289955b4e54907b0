package dev.nexusquant.eval.perplexity;

import java.util.Arrays;

/** Median, minimum and maximum of a set of values (e.g. per-chunk perplexity changes in percent). */
public record Spread(double median, double min, double max) {

    public static Spread of(double[] values) {
        if (values.length == 0) throw new IllegalArgumentException("no values");
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        double med = (n & 1) == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return new Spread(med, s[0], s[n - 1]);
    }
}
