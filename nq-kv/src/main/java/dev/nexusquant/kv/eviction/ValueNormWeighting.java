package dev.nexusquant.kv.eviction;

/**
 * Value-norm weighting (kvpress's {@code use_vnorm}, VATP): the base policy's score of each row times the norm of its
 * value. A row's share of the attention output is its attention weight times its value, so a row with a small value
 * moves the output little whatever attention it gets. Rows that age later (streaming) are weighted by the norms of
 * their stored values (centred, rotated) likewise. {@code --kv evict=vnorm:R} is SnapKV weighted so;
 * {@code vnorm=on} weights any scoring policy.
 */
public record ValueNormWeighting(EvictionPolicy base) implements DelegatingPolicy {

    public ValueNormWeighting {
        DelegatingPolicy.scoring(base, "vnorm=on");
    }

    @Override
    public float[] scores(Candidates c) {
        float[] s = base.scores(c);
        float[] v = c.values();
        int dim = c.dim();
        if (v == null || dim <= 0) return s;
        return weighted(s, v, c.count(), dim);
    }

    /** Rows that age: their received attention times their stored values' norms. */
    @Override
    public float[] agingScores(float[] received, float[] values, int n, int dim) {
        return weighted(base.agingScores(received, values, n, dim), values, n, dim);
    }

    /**
     * {@code scores[r] * |values[r]|} for rows {@code [0, rows)}.
     *
     * @param values [rows][dim]
     */
    static float[] weighted(float[] scores, float[] values, int rows, int dim) {
        float[] out = java.util.Arrays.copyOf(scores, Math.max(scores.length, rows));
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int i = 0; i < dim; i++) {
                double x = values[r * dim + i];
                n += x * x;
            }
            out[r] = (float) (scores[r] * Math.sqrt(n));
        }
        return out;
    }

    @Override
    public String spec() {
        return base.spec() + ",vnorm=on";
    }
}
