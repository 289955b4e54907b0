package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.PositionalRotation;

/**
 * What a compressed cache knows about the rows of one (layer, KV head) it is about to compress, handed to
 * {@link EvictionPolicy#scores}: the candidates are the oldest {@link #count()} rows of its full-precision window.
 * Arrays are indexed by window row (row 0 is the oldest); they are the cache's own, read-only.
 */
public interface Candidates {

    /** Rows being ranked: window rows {@code [0, count)}. */
    int count();

    /** True for the compression at the end of the first prompt (ranked with the prompt's own queries). */
    boolean atPromptEnd();

    /** Attention mass each window row received, summed over queries and query heads, or null when none was recorded. */
    float[] attentionSums();

    /** The same divided by the number of queries that saw each row, or null when none was recorded. */
    float[] attentionMeans();

    /** The prompt's last queries and the window's keys (for SnapKV), or null when no query was recorded. */
    PromptQueries promptQueries();

    /** Head dimension (0 when the values are not offered). */
    default int dim() {
        return 0;
    }

    /** The candidates' values as appended, [count][dim], or null when not offered. */
    default float[] values() {
        return null;
    }

    /**
     * True when the byte budget's planner asks (to measure what each option would keep), false when the cache ranks
     * the rows it keeps now.
     */
    default boolean planning() {
        return false;
    }

    /** Layer of the head whose rows these are (-1 when not told). */
    default int layer() {
        return -1;
    }

    /** KV head whose rows these are (-1 when not told). */
    default int head() {
        return -1;
    }

    /** [count] the candidates' positions, ascending, or null when not offered. */
    default int[] positions() {
        return null;
    }

    /** The newest position the head holds now (its window's last row). */
    default int newest() {
        return -1;
    }

    /** The model's RoPE (what turned pre-RoPE queries and keys into the recorded ones), or null for none. */
    default PositionalRotation rope() {
        return null;
    }
}
