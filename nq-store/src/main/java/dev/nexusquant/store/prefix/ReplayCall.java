package dev.nexusquant.store.prefix;

/**
 * One batch of the forward pass as a prefix replays it: {@code n} tokens from position {@code start}; for each layer
 * the rows appended and the last {@code m} queries of the attend calls.
 *
 * @param keys    [layers][n * kvDim] keys as appended (RoPE applied)
 * @param values  [layers][n * kvDim]
 * @param queries [layers][m * qDim] the last m queries of the batch ({@code m = 0}: empty arrays)
 */
record ReplayCall(int start, int n, int m, float[][] keys, float[][] values, float[][] queries) {
}
