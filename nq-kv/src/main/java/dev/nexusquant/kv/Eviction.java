package dev.nexusquant.kv;

import java.util.Locale;

/**
 * Which cached tokens are dropped, and how many are kept.
 *
 * <p>Every compression step looks at the oldest tokens still held in full precision (the "candidates": all of them
 * except the most recent {@code window}), keeps {@code round(keepRatio * candidates)} of them (at least the sinks) and
 * drops the rest for real. The first compression after a prompt ranks candidates with the prompt's last
 * {@code observation} queries (SnapKV) or with the attention mass they received (H2O); later blocks that leave the
 * recent window during generation are ranked by the attention they received while they were in it.
 *
 * @param policy      NONE keeps everything; STREAMING keeps only sinks and the recent window (StreamingLLM); SNAPKV and
 *                    H2O rank by attention
 * @param keepRatio   fraction of candidates kept, in (0, 1]; ignored by NONE and STREAMING
 * @param sinks       the first {@code sinks} positions of the sequence are never dropped
 * @param observation SnapKV observation window: the last queries of the prompt that vote
 * @param pool        SnapKV pooling kernel (odd, 1 = no pooling) over neighbouring positions
 */
public record Eviction(Policy policy, double keepRatio, int sinks, int observation, int pool) {

    public enum Policy { NONE, STREAMING, SNAPKV, H2O }

    public static final Eviction NONE = new Eviction(Policy.NONE, 1.0, 0, 0, 1);

    public Eviction {
        if (policy == null) throw new IllegalArgumentException("eviction policy is null");
        if (!(keepRatio > 0.0 && keepRatio <= 1.0)) {
            throw new IllegalArgumentException("eviction keep ratio must be in (0, 1]: " + keepRatio);
        }
        if (sinks < 0 || sinks > 1 << 20) throw new IllegalArgumentException("eviction sinks out of range: " + sinks);
        if (observation < 0 || observation > 1 << 16) {
            throw new IllegalArgumentException("eviction observation window out of range: " + observation);
        }
        if (pool < 1 || pool > 255 || (pool & 1) == 0) {
            throw new IllegalArgumentException("eviction pool kernel must be odd, 1..255: " + pool);
        }
    }

    public static Eviction snapKv(double keepRatio) {
        return new Eviction(Policy.SNAPKV, keepRatio, 4, 32, 7);
    }

    public static Eviction h2o(double keepRatio) {
        return new Eviction(Policy.H2O, keepRatio, 4, 0, 1);
    }

    public static Eviction streaming(int sinks) {
        return new Eviction(Policy.STREAMING, 1.0, sinks, 0, 1);
    }

    /** True when this policy may drop tokens. */
    public boolean drops() {
        return policy == Policy.STREAMING || (policy != Policy.NONE && keepRatio < 1.0);
    }

    /** Tokens kept out of {@code candidates}, before the sinks are forced in. */
    int keepCount(int candidates) {
        return switch (policy) {
            case NONE -> candidates;
            case STREAMING -> 0;
            case SNAPKV, H2O -> (int) Math.min(candidates, Math.round(keepRatio * candidates));
        };
    }

    public String describe() {
        return switch (policy) {
            case NONE -> "none";
            case STREAMING -> "streaming,sinks=" + sinks;
            case SNAPKV -> String.format(Locale.ROOT, "snapkv:%s,sinks=%d,obs=%d,pool=%d", ratio(), sinks, observation, pool);
            case H2O -> String.format(Locale.ROOT, "h2o:%s,sinks=%d", ratio(), sinks);
        };
    }

    private String ratio() {
        return Double.toString(keepRatio);
    }
}
