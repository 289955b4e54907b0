package dev.nexusquant.kv.eviction;

/**
 * H2O, heavy hitters (Zhang et al., 2023): ranks rows by the attention mass they received, on the prompt summed over
 * its queries, later as a mean over the queries that saw them, and keeps {@code keepRatio} of the candidates.
 */
public record H2oEviction(double keepRatio, int sinks) implements KeepRatioPolicy {

    public H2oEviction {
        EvictionSpecs.checkRatio(keepRatio);
        EvictionSpecs.checkSinks(sinks);
    }


    @Override
    public boolean recordsAttention(boolean afterPrompt) {
        return drops();
    }

    @Override
    public float[] scores(Candidates c) {
        return EvictionPolicy.byReceivedAttention(c);
    }

    @Override
    public String spec() {
        return "evict=h2o:" + keepRatio + ",sinks=" + sinks;
    }
}
