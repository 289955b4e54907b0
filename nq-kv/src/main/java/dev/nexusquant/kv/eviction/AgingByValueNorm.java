package dev.nexusquant.kv.eviction;

/**
 * Rows that age (streaming) are cut by the norms of their stored values (centred, rotated) alone, not by the
 * attention they received while young: young rows then carry no attention-mass accumulator (8 bytes a row) and
 * attention records nothing for them. Measured on the development chunks of both models inside the presets, this
 * ranking lost less under streaming than the received attention (BENCHMARKS.md, "Presets with a byte budget").
 * {@code agerank=vnorm}; {@code agerank=attn} (the default) ranks by the attention received.
 */
public record AgingByValueNorm(EvictionPolicy base) implements DelegatingPolicy {

    public AgingByValueNorm {
        DelegatingPolicy.scoring(base, "agerank=vnorm");
    }

    @Override
    public boolean agingAttention() {
        return false;
    }

    /** {@code |values[r]|} for rows {@code [0, n)}; the received attention is not used (it is not recorded). */
    @Override
    public float[] agingScores(float[] received, float[] values, int n, int dim) {
        float[] out = new float[n];
        for (int r = 0; r < n; r++) {
            double s = 0;
            for (int i = 0; i < dim; i++) {
                double x = values[r * dim + i];
                s += x * x;
            }
            out[r] = (float) Math.sqrt(s);
        }
        return out;
    }

    @Override
    public String spec() {
        return base.spec() + ",agerank=vnorm";
    }
}
