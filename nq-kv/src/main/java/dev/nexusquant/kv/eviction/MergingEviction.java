package dev.nexusquant.kv.eviction;

/**
 * Merging instead of dropping (CaM, D2O): a row the base policy drops folds its value into the kept row whose key is
 * most similar to its own (cosine at least {@code threshold}), as a mean weighted by the two rows' scores; the kept
 * row's key stays. Queries that would have attended to the dropped row find a row with a similar key whose value now
 * carries part of the dropped one's. The cache does the merging ({@link RowMerger}); this policy sets the threshold.
 * {@code --kv evict=merge:R} is SnapKV with merging at cosine 0.5; {@code merge=C} merges under any scoring policy.
 */
public record MergingEviction(EvictionPolicy base, double threshold) implements DelegatingPolicy {

    /** The threshold of {@code evict=merge:R}. */
    public static final double DEFAULT_THRESHOLD = 0.5;

    public MergingEviction {
        DelegatingPolicy.scoring(base, "merge");
        if (!(threshold >= -1 && threshold <= 1)) {
            throw new IllegalArgumentException("merge similarity must be in [-1, 1]: " + threshold);
        }
    }

    @Override
    public double mergeThreshold() {
        return threshold;
    }

    @Override
    public String spec() {
        return base.spec() + ",merge=" + threshold;
    }
}
