package dev.nexusquant.codec.eviction;

/**
 * How many tokens of a layer and head to keep, sinks and recent window included: a fraction or a count.
 *
 * <ul>
 *   <li>{@link #keepFraction(double)} f: keep {@code ceil(f * length)} tokens;</li>
 *   <li>{@link #evictFraction(double)} e (the "35% eviction" of the NexusQuant paper): keep
 *       {@code length - floor(e * length)} tokens;</li>
 *   <li>{@link #tokens(int)} n: keep {@code min(n, length)} tokens.</li>
 * </ul>
 * The products are computed in double and snapped to the nearest integer first when within 1e-9 of it, so that
 * {@code keepFraction(0.3)} of 10 tokens is 3 and not 4.
 */
public record Budget(Kind kind, double value) {

    public enum Kind { KEEP_FRACTION, EVICT_FRACTION, TOKENS }

    public Budget {
        if (kind == null) throw new IllegalArgumentException("Budget: kind is null");
        if (kind == Kind.TOKENS) {
            if (!(value >= 0) || value != Math.rint(value) || value > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("Budget: a token count must be a non-negative integer: " + value);
            }
        } else if (!(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException("Budget: a fraction must be in [0, 1]: " + value);
        }
    }

    public static Budget keepFraction(double f) {
        return new Budget(Kind.KEEP_FRACTION, f);
    }

    public static Budget evictFraction(double e) {
        return new Budget(Kind.EVICT_FRACTION, e);
    }

    public static Budget tokens(int n) {
        return new Budget(Kind.TOKENS, n);
    }

    /** Keep everything. */
    public static Budget all() {
        return keepFraction(1.0);
    }

    /** Tokens to keep out of {@code length}. */
    public int keep(int length) {
        if (length < 0) throw new IllegalArgumentException("Budget: length < 0: " + length);
        return switch (kind) {
            case KEEP_FRACTION -> (int) Math.min(length, Math.ceil(snap(value * length)));
            case EVICT_FRACTION -> length - (int) Math.floor(snap(value * length));
            case TOKENS -> (int) Math.min(length, value);
        };
    }

    private static double snap(double v) {
        double r = Math.rint(v);
        return Math.abs(v - r) < 1e-9 ? r : v;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case KEEP_FRACTION -> "keep " + value;
            case EVICT_FRACTION -> "evict " + value;
            case TOKENS -> "keep " + (long) value + " tokens";
        };
    }
}
