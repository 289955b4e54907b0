package dev.nexusquant.kv.eviction;

/**
 * Rows that age (streaming) are cut by the norms of their stored values (centred, rotated) alone, not by the
 * attention they received while young: young rows then carry no attention-mass accumulator (8 bytes a row) and
 * attention records nothing for them. Measured on the development chunks of both models inside the presets, this
 * ranking lost less under streaming than the received attention (BENCHMARKS.md, "Presets with a byte budget").
 * {@code agerank=vnorm}; {@code agerank=attn} (the default) ranks by the attention received; {@code agerank=attnv}
 * by the product of both ({@code timesAttention}: young rows record the attention they receive, as with attn).
 */
public record AgingByValueNorm(EvictionPolicy base, boolean timesAttention) implements DelegatingPolicy {

    public AgingByValueNorm {
        DelegatingPolicy.scoring(base, timesAttention ? "agerank=attnv" : "agerank=vnorm");
    }

    /** {@code agerank=vnorm}. */
    public AgingByValueNorm(EvictionPolicy base) {
        this(base, false);
    }

    @Override
    public boolean agingAttention() {
        return timesAttention;
    }

    /**
     * {@code |values[r]|} for rows {@code [0, n)}, times {@code received[r]} (the mean attention the row received)
     * with {@code timesAttention}; otherwise the received attention is not used (it is not recorded).
     */
    @Override
    public float[] agingScores(float[] received, float[] values, int n, int dim) {
        float[] out = new float[n];
        for (int r = 0; r < n; r++) {
            double s = 0;
            for (int i = 0; i < dim; i++) {
                double x = values[r * dim + i];
                s += x * x;
            }
            out[r] = (float) (Math.sqrt(s) * (timesAttention ? received[r] : 1.0));
        }
        return out;
    }

    @Override
    public String spec() {
        return base.spec() + (timesAttention ? ",agerank=attnv" : ",agerank=vnorm");
    }
}
