package dev.nexusquant.codec.importance;

/**
 * How the scores of the query heads that share one KV head (grouped-query attention) become one score per token.
 *
 * <ul>
 *   <li>{@link #SUM} (the default): the attention mass the KV head's token receives from all its query heads. It is
 *       what the KV head's cached entry contributes in total, it ranks tokens the way the mean over heads does (the
 *       choice of AdaKV/SnapKV ports to GQA models), and it is linear, so pooling before or after it is the same.</li>
 *   <li>{@link #MAX}: the largest score over the query heads. It keeps a token that one head needs sharply (an
 *       induction or retrieval head) even when the other heads of the group ignore it, at the cost of keeping more
 *       tokens that only one head glances at.</li>
 * </ul>
 */
public enum GqaReduce { SUM, MAX }
