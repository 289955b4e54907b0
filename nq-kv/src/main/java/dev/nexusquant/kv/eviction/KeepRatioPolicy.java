package dev.nexusquant.kv.eviction;

/**
 * A scoring policy that keeps a fixed share of its candidates ({@link #keepRatio()}, in (0, 1]): SnapKV, H2O and
 * expected attention. It drops tokens only when that share is below one, and keeps {@code round(keepRatio x
 * candidates)} rows of each step's candidates (never more than there are).
 */
public interface KeepRatioPolicy extends EvictionPolicy {

    /** Share of the candidates kept, in (0, 1]. */
    double keepRatio();

    @Override
    default boolean drops() {
        return keepRatio() < 1.0;
    }

    @Override
    default int keepCount(int candidates) {
        return (int) Math.min(candidates, Math.round(keepRatio() * candidates));
    }
}
