package dev.nexusquant.codec.eviction;

import java.util.Arrays;

/**
 * Chooses the tokens to keep: sinks, recent window, then the top-scored, up to a budget ({@link KeepRule}).
 *
 * <p>Ties between equal scores go to the later position (more recent tokens are more often needed next). Scores must
 * not be NaN. Cost: one primitive sort of the middle tokens, {@code O(T log T)}.
 */
public final class Evictor {

    private Evictor() {
    }

    /**
     * The positions to keep out of {@code length} tokens, ascending.
     *
     * @param scores {@code [length]} importance scores (only the middle tokens' scores matter)
     */
    public static int[] select(float[] scores, int length, KeepRule policy) {
        if (length < 0 || scores.length < length) {
            throw new IllegalArgumentException("Evictor: " + scores.length + " scores for " + length + " tokens");
        }
        int budget = policy.budget().keep(length);
        boolean[] keep = new boolean[length];
        int kept = 0;
        for (int t = 0; t < Math.min(policy.sinks(), length) && kept < budget; t++) {
            keep[t] = true;
            kept++;
        }
        for (int t = length - 1, n = 0; t >= 0 && n < policy.recent() && kept < budget; t--, n++) {
            if (!keep[t]) {
                keep[t] = true;
                kept++;
            }
        }
        int rest = budget - kept;
        if (rest > 0) {
            // the middle tokens, sorted by (score, position) descending via packed primitive keys
            long[] keys = new long[length - kept];
            int m = 0;
            for (int t = 0; t < length; t++) {
                if (keep[t]) continue;
                float s = scores[t];
                if (Float.isNaN(s)) throw new IllegalArgumentException("Evictor: score of token " + t + " is NaN");
                keys[m++] = ((long) sortable(s) << 32) | t;
            }
            Arrays.sort(keys, 0, m);
            for (int i = m - 1; i >= m - rest; i--) {
                keep[(int) (keys[i] & 0xffffffffL)] = true;
            }
            kept += rest;
        }
        int[] out = new int[kept];
        for (int t = 0, i = 0; t < length; t++) {
            if (keep[t]) out[i++] = t;
        }
        return out;
    }

    /** A signed int that orders like the float (-0.0 and 0.0 equal). */
    static int sortable(float f) {
        int bits = Float.floatToIntBits(f + 0f);
        return bits >= 0 ? bits : bits ^ 0x7fffffff;
    }
}
