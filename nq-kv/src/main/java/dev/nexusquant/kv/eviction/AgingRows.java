package dev.nexusquant.kv.eviction;

/**
 * The rows of one young segment of a (layer, KV head) that age now, as {@link EvictionPolicy#agingScores(AgingRows)}
 * sees them.
 *
 * @param layer     layer
 * @param head      KV head
 * @param positions [count] the rows' positions, ascending
 * @param count     rows
 * @param newest    the newest position the head holds now
 * @param received  [count] mean attention each row received while young (all ones when not recorded)
 * @param values    [count][dim] the rows' values in their stored form (centred, rotated)
 * @param dim       head dimension
 */
public record AgingRows(int layer, int head, int[] positions, int count, int newest, float[] received, float[] values,
                        int dim) {
}
