package dev.nexusquant.engine.kv;

import dev.nexusquant.codec.state.StateOutput;

/**
 * The KV cache of one generation session: the only way the forward pass touches keys and values.
 *
 * <p>The forward pass appends the keys and values of new tokens, then asks the cache to compute attention for its
 * queries. Because the cache computes attention itself, a compressed cache can score queries against compressed data
 * without expanding it, and can observe attention probabilities (for importance ranking) as it computes them.
 *
 * <p>Order of calls for one forward step of {@code n} tokens: for each layer, {@link #append} once, then
 * {@link #attend} for each KV head (possibly concurrently, from several threads, for different heads of the same
 * layer). A cache is used by one session at a time; {@code attend} calls of one layer may overlap each other but never
 * an {@code append}.
 *
 * <p>Positions are absolute token positions in the sequence. A query at position {@code p} attends to every cached
 * token of its layer whose position is {@code <= p}. Evicting caches keep the original positions of kept tokens.
 */
public interface KvCache extends AutoCloseable {

    /** The shape this cache was created for. */
    KvLayout layout();

    /**
     * Stores the keys and values of {@code n} new tokens of one layer.
     *
     * @param layer     layer index
     * @param n         number of tokens
     * @param positions absolute positions in {@code [0, n)} (the array may be longer: a session's buffer), strictly
     *                  increasing, above every position appended before; not kept after the call
     * @param keys      [n][kvHeads * headDim] row-major; keys already rotated by RoPE at their positions
     * @param values    [n][kvHeads * headDim] row-major
     */
    void append(int layer, int n, int[] positions, float[] keys, float[] values);

    /**
     * Causal attention of {@code n} queries for the query heads of one KV head.
     *
     * <p>For each query {@code i} and each query head {@code h} in {@code kvHead * group .. kvHead * group + group - 1}:
     * {@code out[i][h] = sum_t softmax_t(q[i][h] . k_t / sqrt(headDim)) v_t} over the cached tokens {@code t} of this
     * layer with position {@code <= positions[i]}. Other heads of {@code out} are left untouched.
     *
     * @param layer     layer index
     * @param kvHead    KV head index
     * @param n         number of queries
     * @param positions absolute query positions in {@code [0, n)} (the array may be longer)
     * @param q         [n][heads * headDim] queries, RoPE applied
     * @param out       [n][heads * headDim] attention output
     */
    void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out);

    /**
     * Marks the end of a prompt (or of a turn's prompt): everything appended so far is context that generation will
     * read. A compressing cache ranks, evicts and compresses here. The dense cache does nothing.
     */
    default void endOfPrompt() {
    }

    /**
     * Freezes what the cache holds now: rows appended later are kept as they come (full precision for a compressing
     * cache) and nothing held is compressed or evicted any more once the prompt has ended. It may be called before
     * {@link #endOfPrompt()} (the prompt is still compressed at its end, and a byte budget then need not keep room for
     * generation's staging rows): the "context" perplexity protocol does so, so that only the prompt is compressed.
     * The dense cache does nothing.
     */
    default void freeze() {
    }

    /**
     * How the cache spent its memory, in one line of text per (layer, KV head), or an empty string when it has no
     * allocation to report (the dense cache, fixed recipes).
     */
    default String allocation() {
        return "";
    }

    /**
     * The most new tokens the forward pass should append in one step (it splits longer runs). A compressing cache
     * with a full-precision recent window returns its block size once generation has started, so that a long
     * teacher-forced continuation sees older tokens compressed as token-by-token generation would. Default: no limit.
     */
    default int maxAppend() {
        return Integer.MAX_VALUE;
    }

    /**
     * A hint, before or while a first prompt is appended: it will hold {@code tokens} tokens in all when it ends. A
     * compressing cache that must compress a long prompt in pieces (past its staging limit or its memory budget)
     * plans each piece with the prompt's length in view. Hints after the prompt's end, or smaller than what was
     * already appended or hinted, are ignored. Default: ignored.
     */
    default void expectPrompt(long tokens) {
    }

    /**
     * Whether, and how, the state this cache reaches while prefilling a first prompt can be rebuilt by replaying the
     * forward pass's calls rather than running the model (a prefix store restores shared prompt prefixes this way).
     * Default: {@link PromptReplay#NONE}.
     */
    default PromptReplay promptReplay() {
        return PromptReplay.NONE;
    }

    /** Tokens appended so far (per layer). */
    long tokensSeen();

    /** What this cache holds now. */
    KvStats stats();

    /**
     * The type of the state {@link #writeState} writes, the key under which a {@link KvCacheReader} reads it back
     * (found by {@link java.util.ServiceLoader}); null when this cache cannot be saved.
     */
    default String stateType() {
        return null;
    }

    /**
     * The settings of this cache in a short canonical form, stored beside its state: {@code "fp32"}, {@code "fp16"},
     * or a compressed cache's spec. Equal to the {@link KvCacheFactory#describe()} of the factory that made it.
     */
    default String settings() {
        return stateType() == null ? getClass().getSimpleName() : stateType();
    }

    /**
     * Writes everything the cache holds, so that its {@link KvCacheReader} can rebuild a cache that continues exactly
     * where this one stands (the same attention results, bit for bit, and the same later decisions). Must not run
     * concurrently with anything else on the cache.
     *
     * @throws UnsupportedOperationException when {@link #stateType()} is null
     */
    default void writeState(StateOutput out) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be saved");
    }

    /** Frees what the cache holds; it cannot be used afterwards. */
    @Override
    default void close() {
    }
}
