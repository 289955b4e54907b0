package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.RopeSpec;

/**
 * Channel balancing of keys against queries before the rotation and the quantizer.
 *
 * <p>The rotation spreads quantization noise evenly over the channels of the stored vector. If keys are stored as
 * {@code w ∘ k} (and queries divided by {@code w}, so that {@code q . k} is unchanged), the noise of the logit
 * {@code q . k} has variance proportional to {@code (Σ_c w_c² a_c)(Σ_c b_c / w_c²)}, with {@code a_c = E[k_c²]} (centred
 * keys) and {@code b_c = E[q_c²]}. By Cauchy-Schwarz it is smallest, {@code (Σ_c √(a_c b_c))²}, at
 * {@code w_c = (b_c / a_c)^(1/4)}; the gain over {@code w = 1} is {@code Σa Σb / (Σ√(ab))²} ≥ 1, large when keys put
 * energy in channels the queries hardly read. (The same square-root balance as SmoothQuant's migration strength ½,
 * Xiao et al. 2023, here derived for the logit error.) Statistics are averaged over each RoPE pair, whose two
 * channels exchange energy with the position, so that one {@code w} serves keys stored with or without RoPE.
 */
final class KeyBalance {

    private KeyBalance() {
    }

    /**
     * @param k       [n][dim] keys (in the domain they will be stored in, before centring)
     * @param mean    [dim] key mean subtracted before storing, or null
     * @param q       [nq][dim] observation queries
     * @return [dim] channel scales w, geometric mean 1, limited to [1/16, 16]
     */
    static float[] scales(float[] k, int n, float[] mean, float[] q, int nq, int dim, RopeSpec rope) {
        double[] a = new double[dim], b = new double[dim];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dim; c++) {
                double x = k[i * dim + c] - (mean == null ? 0 : mean[c]);
                a[c] += x * x;
            }
        }
        for (int i = 0; i < nq; i++) {
            for (int c = 0; c < dim; c++) b[c] += (double) q[i * dim + c] * q[i * dim + c];
        }
        pairAverage(a, rope);
        pairAverage(b, rope);
        double amax = 0, bmax = 0;
        for (int c = 0; c < dim; c++) {
            amax = Math.max(amax, a[c]);
            bmax = Math.max(bmax, b[c]);
        }
        double[] logw = new double[dim];
        double meanLog = 0;
        for (int c = 0; c < dim; c++) {
            double ac = Math.max(a[c], 1e-9 * amax + 1e-30), bc = Math.max(b[c], 1e-9 * bmax + 1e-30);
            logw[c] = 0.25 * Math.log(bc / ac);
            meanLog += logw[c] / dim;
        }
        float[] w = new float[dim];
        double lim = Math.log(16);
        for (int c = 0; c < dim; c++) w[c] = (float) Math.exp(Math.max(-lim, Math.min(lim, logw[c] - meanLog)));
        return w;
    }

    /** Replaces both members of every RoPE pair by their mean. */
    private static void pairAverage(double[] x, RopeSpec rope) {
        int rd = Math.min(rope.rotaryDims(), x.length);
        for (int i = 0; i < rd / 2; i++) {
            int c0 = rope.style() == RopeSpec.Style.ADJACENT ? 2 * i : i;
            int c1 = rope.style() == RopeSpec.Style.ADJACENT ? 2 * i + 1 : i + rd / 2;
            double m = 0.5 * (x[c0] + x[c1]);
            x[c0] = m;
            x[c1] = m;
        }
    }
}
