package dev.nexusquant.eval.analysis;

import dev.nexusquant.kv.eviction.AgingRows;
import dev.nexusquant.kv.eviction.Candidates;
import dev.nexusquant.kv.eviction.DelegatingPolicy;
import dev.nexusquant.kv.eviction.EvictionPolicy;

/**
 * An analysis, not a policy to offer: the base policy's counts, sinks and settings, but every ranking (at the
 * prompt's end and when rows age) by the attention each row receives in a dense pass from the continuation's
 * queries still to come ({@link OracleMass#future}: after the newest position the head holds); or only the ranking
 * at the prompt's end ({@code atAging} false), or only the rankings when rows age. With {@code inPlans} the byte
 * budget's planner measures each head's options (kept count, codecs) with the oracle's ranking too, else with the
 * base policy's (the plans are then the base's, only the rows kept differ). What eviction could
 * reach at the same kept counts if it knew the future; no cache built from a {@code --kv} spec can use it.
 */
public record OracleRanking(EvictionPolicy base, OracleMass mass, boolean atPromptEnd, boolean atAging,
                            boolean inPlans) implements DelegatingPolicy {

    /** The oracle at every ranking, the byte budget's planner measuring its options with it too. */
    public OracleRanking(EvictionPolicy base, OracleMass mass) {
        this(base, mass, true, true, true);
    }

    public OracleRanking {
        DelegatingPolicy.scoring(base, "the oracle ranking");
        if (mass == null) throw new IllegalArgumentException("the oracle ranking needs the recorded attention mass");
    }

    @Override
    public float[] scores(Candidates c) {
        if (!(c.atPromptEnd() ? atPromptEnd : atAging) || c.planning() && !inPlans) return base.scores(c);
        int[] pos = c.positions();
        if (pos == null || c.layer() < 0 || c.head() < 0) {
            throw new IllegalStateException("the oracle ranking needs the candidates' layer, head and positions");
        }
        return future(c.layer(), c.head(), pos, c.count(), c.newest());
    }

    @Override
    public float[] agingScores(AgingRows rows) {
        if (!atAging) return base.agingScores(rows);
        return future(rows.layer(), rows.head(), rows.positions(), rows.count(), rows.newest());
    }

    @Override
    public float[] agingScores(float[] received, float[] values, int n, int dim) {
        if (!atAging) return base.agingScores(received, values, n, dim);
        throw new IllegalStateException("the oracle ranking needs the aging rows' positions");
    }

    private float[] future(int layer, int head, int[] pos, int n, int after) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) mass.future(layer, head, pos[i], after);
        return out;
    }

    @Override
    public String spec() {
        return base.spec() + ",analysis=oracle" + (atPromptEnd && atAging ? "" : atPromptEnd ? "-prompt" : "-aging")
                + (inPlans ? "" : "-same-plans");
    }
}
