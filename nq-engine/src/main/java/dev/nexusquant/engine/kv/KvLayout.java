package dev.nexusquant.engine.kv;

/**
 * The shape of the KV cache a model needs: what a cache implementation is told when it is created.
 *
 * @param layers        number of transformer layers
 * @param heads         number of query heads
 * @param kvHeads       number of key/value heads (grouped-query attention: {@code heads % kvHeads == 0})
 * @param headDim       dimension of one head
 * @param contextLength the model's trained context length (positions may go beyond it; caches should not assume less)
 * @param rope          how keys were rotated before they reach the cache, so that a cache can undo it
 */
public record KvLayout(int layers, int heads, int kvHeads, int headDim, int contextLength, RopeSpec rope) {

    public KvLayout {
        if (layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("KvLayout: every size must be positive: " + layers + ", " + heads
                    + ", " + kvHeads + ", " + headDim + ", " + contextLength);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("KvLayout: heads " + heads + " is not a multiple of kvHeads " + kvHeads);
        }
    }

    /** Query heads that share one KV head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Floats of keys (or of values) per token and layer: {@code kvHeads * headDim}. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Floats of queries per token: {@code heads * headDim}. */
    public int qDim() {
        return heads * headDim;
    }

    /** Bytes an fp16 cache holds per token over all layers, keys and values. */
    public long fp16BytesPerToken() {
        return 2L * 2L * layers * kvDim();
    }
}
