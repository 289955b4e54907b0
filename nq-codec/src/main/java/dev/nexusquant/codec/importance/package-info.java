/**
 * Stage 1: importance ranking of cached tokens from attention probabilities, per layer and KV head:
 * {@link dev.nexusquant.codec.importance.SnapKvScorer} (an observation window of the last prompt queries, pooled) and
 * {@link dev.nexusquant.codec.importance.H2OAccumulator} (attention mass summed over all queries). Inputs are plain
 * arrays; the engine computes the probabilities and feeds them in.
 */
package dev.nexusquant.codec.importance;
