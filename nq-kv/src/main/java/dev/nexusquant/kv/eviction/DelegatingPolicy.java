package dev.nexusquant.kv.eviction;

/**
 * A policy that refines another ({@link #base()}): everything it does not override is the base policy's. The
 * refinements are {@link ValueNormWeighting}, {@link JointAcrossHeads} and {@link MergingEviction}; their spec is the
 * base's spec with one setting added.
 */
public interface DelegatingPolicy extends EvictionPolicy {

    /** The refined policy. */
    EvictionPolicy base();

    @Override
    default boolean drops() {
        return base().drops();
    }

    @Override
    default int sinks() {
        return base().sinks();
    }

    @Override
    default int keepCount(int candidates) {
        return base().keepCount(candidates);
    }

    @Override
    default int observationWindow() {
        return base().observationWindow();
    }

    @Override
    default boolean recordsAttention(boolean afterPrompt) {
        return base().recordsAttention(afterPrompt);
    }

    @Override
    default double jointFloor() {
        return base().jointFloor();
    }

    @Override
    default double mergeThreshold() {
        return base().mergeThreshold();
    }

    @Override
    default float[] scores(Candidates c) {
        return base().scores(c);
    }

    @Override
    default boolean agingAttention() {
        return base().agingAttention();
    }

    @Override
    default float[] agingScores(float[] received, float[] values, int n, int dim) {
        return base().agingScores(received, values, n, dim);
    }

    @Override
    default boolean keepsEveryRow() {
        return base().keepsEveryRow();
    }

    /** Checks that a refinement has a scoring policy under it. */
    static EvictionPolicy scoring(EvictionPolicy base, String what) {
        if (base == null || base instanceof NoEviction || base instanceof StreamingEviction) {
            throw new IllegalArgumentException(what + " needs a scoring policy (snapkv, h2o or expected), not "
                    + (base == null ? "none" : base.spec()));
        }
        return base;
    }
}
