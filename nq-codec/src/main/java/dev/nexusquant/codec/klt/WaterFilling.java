package dev.nexusquant.codec.klt;

import dev.nexusquant.codec.e8.E8MixedCodec;

/**
 * Reverse water-filling over groups of eight transform coefficients at the rates the E8 codes offer (0..4 bits per
 * value): for Gaussian components the distortion at an average rate is least when every coded component ends with the
 * same error (the water level) and components whose variance is below it are not coded at all. With a finite set of
 * rates this is a greedy marginal allocation: start at rate 0 everywhere and, one byte per row at a time, raise the
 * group whose distortion falls most per byte ({@code 8 sigma² (d(r) - d(r+1))}, d the measured unit-Gaussian
 * distortion of {@link E8MixedCodec#unitDistortion}); d is convex in r, so the greedy choice is the optimal one.
 * Opening a group may cost more than its first byte per row ({@code openCost}: the share of the basis vectors a new
 * group needs, in bytes per row): then the first step of a group is weighed with that cost.
 */
public final class WaterFilling {

    private WaterFilling() {
    }

    /**
     * Rates for groups of the given variances (per value, any order) within {@code budget} bytes per row.
     *
     * @param variance [groups] mean variance per value of each group (≥ 0)
     * @param budget   code bytes per row available (each rate step costs one)
     * @param openCost extra bytes per row for the first step of a group (≥ 0)
     * @return [groups] rates 0..4; Σ rates + openCost × (groups opened) ≤ budget
     */
    public static byte[] rates(double[] variance, double budget, double openCost) {
        if (!(budget >= 0) || !(openCost >= 0)) throw new IllegalArgumentException("WaterFilling: budget and open cost must be >= 0");
        int n = variance.length;
        byte[] r = new byte[n];
        double left = budget;
        while (true) {
            int bestG = -1;
            double bestGain = 0;
            for (int g = 0; g < n; g++) {
                if (r[g] >= E8MixedCodec.MAX_RATE) continue;
                double v = variance[g];
                if (!(v > 0)) continue;
                double cost = 1 + (r[g] == 0 ? openCost : 0);
                if (cost > left + 1e-12) continue;
                double gain = v * (E8MixedCodec.unitDistortion(r[g]) - E8MixedCodec.unitDistortion(r[g] + 1)) / cost;
                if (gain > bestGain) {
                    bestGain = gain;
                    bestG = g;
                }
            }
            if (bestG < 0) return r;
            left -= 1 + (r[bestG] == 0 ? openCost : 0);
            r[bestG]++;
        }
    }

    /** Groups with a rate above zero. */
    public static int opened(byte[] rates) {
        int k = 0;
        for (byte b : rates) if (b > 0) k++;
        return k;
    }
}
