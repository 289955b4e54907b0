package dev.nexusquant.codec.importance;

/**
 * SnapKV importance scores (Li et al., "SnapKV: LLM Knows What You are Looking for Before Generation", 2024): the
 * last W prompt positions act as an observation window of queries; each key's score is the attention those W
 * queries pay to it, smoothed over neighbouring keys by a pooling window of {@code kernel} positions so that a kept
 * token brings its context along.
 *
 * <p>Inputs are attention probabilities (after softmax) of the window queries for one layer, as plain arrays:
 * {@code probs[h][w][t]} flattened row-major, for {@code h} over the G query heads that share one KV head, {@code w}
 * over the W window queries (row w is the query at position {@code T - W + w}) and {@code t} over the T keys. Scores:
 * <pre>
 *   vote[h][t]  = Σ_w probs[h][w][t]
 *   score[t]    = pool_t( reduce_h vote[h][t] )        reduce: SUM or MAX ({@link GqaReduce}); pool: MAX or AVG
 * </pre>
 * Pooling is centred, {@code kernel} wide (odd), over the positions that exist: AVG divides by the number of positions
 * inside {@code [0, T)}, so the first and last tokens are not penalized for having fewer neighbours. The window's own
 * positions get scores too; callers keep them anyway through the eviction's recent window (make it at least W).
 *
 * <p>Instances are immutable; {@link #score} allocates only its result.
 */
public final class SnapKvScorer {

    public enum Pooling { MAX, AVG }

    private final int window;
    private final int kernel;
    private final Pooling pooling;
    private final GqaReduce reduce;

    /**
     * @param window  W, the number of observation queries (SnapKV uses 32)
     * @param kernel  pooling width, odd, 1 for none (SnapKV uses 5 to 7)
     * @param pooling MAX or AVG
     * @param reduce  how query heads of one KV head combine
     */
    public SnapKvScorer(int window, int kernel, Pooling pooling, GqaReduce reduce) {
        if (window <= 0) throw new IllegalArgumentException("SnapKvScorer: window must be positive: " + window);
        if (kernel <= 0 || (kernel & 1) == 0) throw new IllegalArgumentException("SnapKvScorer: kernel must be odd and positive: " + kernel);
        if (pooling == null || reduce == null) throw new IllegalArgumentException("SnapKvScorer: pooling and reduce are required");
        this.window = window;
        this.kernel = kernel;
        this.pooling = pooling;
        this.reduce = reduce;
    }

    /** SnapKV's defaults: window 32, max-pooling over 7 positions, GQA by sum. */
    public static SnapKvScorer defaults() {
        return new SnapKvScorer(32, 7, Pooling.MAX, GqaReduce.SUM);
    }

    public int window() {
        return window;
    }

    public int kernel() {
        return kernel;
    }

    public Pooling pooling() {
        return pooling;
    }

    public GqaReduce reduce() {
        return reduce;
    }

    /**
     * Scores of T keys for one KV head.
     *
     * @param probs  {@code [heads][w][T]} attention probabilities, flattened, from {@code off}
     * @param heads  G, the query heads that share the KV head (1 without GQA)
     * @param w      number of observation queries given, at most {@link #window()} and at most T (a short prompt may
     *               have fewer)
     * @param length T, the number of keys
     * @return {@code [T]} scores
     */
    public float[] score(float[] probs, int off, int heads, int w, int length) {
        if (heads <= 0 || w <= 0 || w > window || length <= 0 || w > length) {
            throw new IllegalArgumentException("SnapKvScorer: need 0 < heads, 0 < w <= window " + window
                    + ", w <= length: heads=" + heads + " w=" + w + " length=" + length);
        }
        long need = (long) heads * w * length;
        if (off < 0 || need > probs.length - (long) off) {
            throw new IllegalArgumentException("SnapKvScorer: probs holds " + (probs.length - off) + " values from "
                    + off + ", [" + heads + "][" + w + "][" + length + "] needs " + need);
        }
        float[] votes = new float[length];
        float[] head = reduce == GqaReduce.MAX && heads > 1 ? new float[length] : votes;
        for (int h = 0; h < heads; h++) {
            if (head != votes) java.util.Arrays.fill(head, 0f);
            for (int r = 0; r < w; r++) {
                int row = off + (h * w + r) * length;
                for (int t = 0; t < length; t++) head[t] += probs[row + t];
            }
            if (head != votes) {
                for (int t = 0; t < length; t++) votes[t] = h == 0 ? head[t] : Math.max(votes[t], head[t]);
            }
        }
        return pool(votes);
    }

    /** Convenience for one query head: {@code probs[w][t]}. */
    public float[] score(float[][] probs) {
        int w = probs.length;
        int length = w == 0 ? 0 : probs[0].length;
        float[] flat = new float[w * length];
        for (int r = 0; r < w; r++) {
            if (probs[r].length != length) throw new IllegalArgumentException("SnapKvScorer: ragged probs rows");
            System.arraycopy(probs[r], 0, flat, r * length, length);
        }
        return score(flat, 0, 1, w, length);
    }

    /** Centred pooling over {@code kernel} positions, clipped at both ends. */
    float[] pool(float[] v) {
        int n = v.length;
        int half = kernel / 2;
        if (half == 0) return v;
        float[] out = new float[n];
        for (int t = 0; t < n; t++) {
            int lo = Math.max(0, t - half);
            int hi = Math.min(n - 1, t + half);
            if (pooling == Pooling.MAX) {
                float m = v[lo];
                for (int i = lo + 1; i <= hi; i++) m = Math.max(m, v[i]);
                out[t] = m;
            } else {
                float s = 0;
                for (int i = lo; i <= hi; i++) s += v[i];
                out[t] = s / (hi - lo + 1);
            }
        }
        return out;
    }
}
