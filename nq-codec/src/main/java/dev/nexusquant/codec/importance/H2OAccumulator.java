package dev.nexusquant.codec.importance;

import java.util.Arrays;

/**
 * H2O importance scores (Zhang et al., "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language
 * Models", NeurIPS 2023): the attention mass each key has received, summed over every query that saw it.
 *
 * <p>One accumulator per layer and KV head. The engine feeds it the attention probabilities of each query as it
 * computes them (during prefill, and during decode if it wants): {@link #add} for one query head,
 * {@link #addGroup} for the G query heads that share the KV head, reduced by {@link GqaReduce}. Scores are
 * {@code score[t] = Σ_queries reduce_h probs[h][t]}.
 *
 * <p>Earlier tokens are seen by more queries, so raw sums favour them (H2O accepts this; attention sinks are early
 * anyway). {@link #normalizedScores()} divides by the number of queries that saw each token, for callers that want
 * the mean instead.
 *
 * <p>Not thread-safe (one per layer and head, fed by the thread that computes that attention). Memory: two floats
 * per token of capacity.
 */
public final class H2OAccumulator {

    private final GqaReduce reduce;
    /** [capacity] accumulated mass per position. */
    private float[] mass;
    /** [capacity] number of queries that saw each position. */
    private int[] seen;
    private int length;

    public H2OAccumulator(int capacity, GqaReduce reduce) {
        if (capacity < 0) throw new IllegalArgumentException("H2OAccumulator: capacity must be >= 0: " + capacity);
        if (reduce == null) throw new IllegalArgumentException("H2OAccumulator: reduce is required");
        this.reduce = reduce;
        this.mass = new float[capacity];
        this.seen = new int[capacity];
    }

    /**
     * An accumulator in a saved state: {@code mass} and {@code seen} ({@code [length]}) as {@link #scores()} and
     * {@link #counts()} returned them, with room for {@code capacity} positions.
     */
    public static H2OAccumulator restore(GqaReduce reduce, int capacity, float[] mass, int[] seen) {
        if (mass.length != seen.length || capacity < mass.length) {
            throw new IllegalArgumentException("H2OAccumulator: " + mass.length + " scores, " + seen.length + " counts, capacity " + capacity);
        }
        H2OAccumulator a = new H2OAccumulator(capacity, reduce);
        System.arraycopy(mass, 0, a.mass, 0, mass.length);
        System.arraycopy(seen, 0, a.seen, 0, seen.length);
        a.length = mass.length;
        return a;
    }

    /** How the query heads of a group are reduced. */
    public GqaReduce reduce() {
        return reduce;
    }

    /** Positions there is room for without growing. */
    public int capacity() {
        return mass.length;
    }

    /** A copy of the number of queries that saw each position, {@code [length()]}. */
    public int[] counts() {
        return Arrays.copyOf(seen, length);
    }

    /** Number of positions with a score: the longest row added so far. */
    public int length() {
        return length;
    }

    /**
     * Adds one query's attention over keys {@code 0..len)}: {@code probs[off..off+len)}. Grows as needed.
     */
    public void add(float[] probs, int off, int len) {
        addGroup(probs, off, 1, len);
    }

    /**
     * Adds one query position seen by G query heads: {@code probs[h][t]} flattened, {@code [heads][len]} from off.
     */
    public void addGroup(float[] probs, int off, int heads, int len) {
        if (heads <= 0 || len < 0) throw new IllegalArgumentException("H2OAccumulator: heads > 0, len >= 0: " + heads + ", " + len);
        if (off < 0 || (long) heads * len > probs.length - (long) off) {
            throw new IllegalArgumentException("H2OAccumulator: probs too short for [" + heads + "][" + len + "] from " + off);
        }
        ensure(len);
        for (int t = 0; t < len; t++) {
            float v = probs[off + t];
            for (int h = 1; h < heads; h++) {
                float p = probs[off + h * len + t];
                v = reduce == GqaReduce.SUM ? v + p : Math.max(v, p);
            }
            mass[t] += v;
            seen[t]++;
        }
        length = Math.max(length, len);
    }

    /** Bytes held by the two arrays (capacity, not length): for callers that account for memory. */
    public long bytes() {
        return 4L * mass.length + 4L * seen.length;
    }

    /** A copy of the accumulated scores, {@code [length()]}. */
    public float[] scores() {
        return Arrays.copyOf(mass, length);
    }

    /** Accumulated scores divided by the number of queries that saw each token (0 where none did). */
    public float[] normalizedScores() {
        float[] out = new float[length];
        for (int t = 0; t < length; t++) out[t] = seen[t] == 0 ? 0f : mass[t] / seen[t];
        return out;
    }

    /**
     * Keeps only the given positions (ascending indices into the current scores, as {@code Evictor} returns them),
     * compacted to {@code 0..kept.length)}, so that accumulation can go on after an eviction.
     */
    public void retain(int[] kept) {
        int prev = -1;
        for (int i = 0; i < kept.length; i++) {
            int k = kept[i];
            if (k <= prev || k >= length) throw new IllegalArgumentException("H2OAccumulator: kept indices must ascend inside [0, " + length + ")");
            mass[i] = mass[k];
            seen[i] = seen[k];
            prev = k;
        }
        Arrays.fill(mass, kept.length, length, 0f);
        Arrays.fill(seen, kept.length, length, 0);
        length = kept.length;
    }

    public void reset() {
        Arrays.fill(mass, 0, length, 0f);
        Arrays.fill(seen, 0, length, 0);
        length = 0;
    }

    private void ensure(int len) {
        if (len > mass.length) {
            int cap = Math.max(len, (int) Math.min(Integer.MAX_VALUE - 8, mass.length * 2L));
            mass = Arrays.copyOf(mass, cap);
            seen = Arrays.copyOf(seen, cap);
        }
    }
}
