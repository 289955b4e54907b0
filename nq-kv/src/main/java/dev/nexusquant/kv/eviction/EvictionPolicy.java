package dev.nexusquant.kv.eviction;

/**
 * Which cached tokens a compressed cache drops, and how many it keeps: stage 2 of the pipeline, as a policy object.
 *
 * <p>Every compression step looks at the oldest rows still held in full precision (the candidates: all but the most
 * recent {@code window}), asks the policy for their {@link #scores}, keeps the first {@link #sinks()} positions and the
 * best-scored rows up to {@link #keepCount} (ties to the later row; see the codec's {@code Evictor}) and drops the rest
 * for real. With aging configured, rows are ranked and dropped when they age instead, by the attention they received
 * while young; the policy then only says how many it keeps.
 *
 * <p>One class per policy: {@link NoEviction}, {@link StreamingEviction} (StreamingLLM), {@link SnapKvEviction},
 * {@link H2oEviction} and {@link ExpectedAttentionEviction} (kvpress's expected attention; these three keep a share of
 * their candidates: {@link KeepRatioPolicy}), and three refinements
 * that wrap a scoring policy ({@link DelegatingPolicy}): {@link ValueNormWeighting} (scores times value norms),
 * {@link JointAcrossHeads} (AdaKV: the heads of a layer share their keep counts) and {@link MergingEviction} (dropped
 * rows fold their values into their most similar kept row). A new policy implements this interface and gets a name
 * in {@link EvictionSpecs} so that {@code --kv evict=NAME} reaches it. Implementations are immutable values.
 */
public interface EvictionPolicy {

    /** Keeps every token. */
    static EvictionPolicy none() {
        return NoEviction.INSTANCE;
    }

    /** SnapKV with the usual settings (4 sinks, 32 observation queries, max-pooling over 7 positions). */
    static EvictionPolicy snapKv(double keepRatio) {
        return new SnapKvEviction(keepRatio, 4, 32, 7);
    }

    /** H2O with 4 sinks. */
    static EvictionPolicy h2o(double keepRatio) {
        return new H2oEviction(keepRatio, 4);
    }

    /** StreamingLLM: the sinks and the recent window only. */
    static EvictionPolicy streaming(int sinks) {
        return new StreamingEviction(sinks);
    }

    /** True when this policy may drop tokens. */
    boolean drops();

    /** The first {@code sinks} positions of the sequence are never dropped. */
    int sinks();

    /** Rows kept out of {@code candidates}, before the sinks are forced in. */
    int keepCount(int candidates);

    /** Queries at the end of the prompt whose attention this policy ranks by (0: it needs none). */
    default int observationWindow() {
        return 0;
    }

    /**
     * Whether the cache must record the attention each full-precision row receives, on the prompt
     * ({@code afterPrompt} false) or during generation (true).
     */
    boolean recordsAttention(boolean afterPrompt);

    /**
     * AdaKV: a value in [0, 1] makes the heads of a layer pool the rows they keep at the end of the prompt, chosen
     * jointly by per-head normalised score, every head keeping at least this fraction of its own share; below 0 (the
     * default) every head keeps its own share.
     */
    default double jointFloor() {
        return -1;
    }

    /**
     * A dropped row whose key has at least this cosine similarity with a kept row's key folds its value into that
     * row's (score-weighted mean); above 1 (the default) nothing is merged.
     */
    default double mergeThreshold() {
        return Double.POSITIVE_INFINITY;
    }

    /**
     * Importance of the {@code n} rows of a young segment that ages (they are then cut to the policy's or the plan's
     * share): by default the mean attention each received while young.
     *
     * @param received [n] that mean attention
     * @param values   [n][dim] the rows' values in their stored form (centred, rotated: norms as the cache holds them)
     */
    /** Whether rows that age are ranked by the attention they received while young (recorded for them). */
    default boolean agingAttention() {
        return true;
    }

    /**
     * How rows that age are ranked when they are cut (see {@link #agingAttention()}): received the mean attention
     * each got while young (all ones when not recorded), values their stored values ([n][dim]).
     */
    default float[] agingScores(float[] received, float[] values, int n, int dim) {
        return received;
    }

    /**
     * How rows that age are ranked, with where they are: by default {@link #agingScores(float[], float[], int, int)}
     * of the rows' received attention and values. An analysis policy that knows more about a position (the attention
     * a dense pass saw it receive later) overrides this one.
     */
    default float[] agingScores(AgingRows rows) {
        return agingScores(rows.received(), rows.values(), rows.count(), rows.dim());
    }

    /**
     * Whether the cache keeps every row it would rank (none dropped, at the prompt's end or when rows age), while the
     * byte budget's plan still chooses the codecs as if rows were dropped: an analysis of what the codes alone cost.
     * False for every policy a {@code --kv} spec names.
     */
    default boolean keepsEveryRow() {
        return false;
    }

    /** Importance of each candidate row, at least {@code c.count()} values; higher is kept first. */
    float[] scores(Candidates c);

    /** The settings as a {@code --kv} spec writes them: {@code evict=snapkv:0.2,sinks=4,obs=32,pool=7}. */
    String spec();

    /**
     * The ranking of H2O and of every policy after the prompt: the attention each row received, summed ({@code at the
     * end of the prompt}, the paper's form) or as a mean over the queries that saw it (later blocks); zeros when none
     * was recorded.
     */
    static float[] byReceivedAttention(Candidates c) {
        float[] received = c.atPromptEnd() ? c.attentionSums() : c.attentionMeans();
        return received == null ? new float[c.count()] : java.util.Arrays.copyOf(received, c.count());
    }
}
