package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;

/**
 * Which positions a compressed cache holds now for one (layer, KV head): its compressed segments' rows and its
 * full-precision window's, ascending. For analyses and tests that need to know what eviction kept.
 */
public final class HeldRows {

    private HeldRows() {
    }

    /**
     * @return [rows held] positions, ascending
     * @throws IllegalArgumentException when {@code cache} is not a compressed cache of this module, or the layer or
     *                                  head is out of range
     */
    public static int[] positions(KvCache cache, int layer, int kvHead) {
        if (!(cache instanceof CompressedKvCache c)) {
            throw new IllegalArgumentException("held rows are known for compressed caches only, not "
                    + (cache == null ? "null" : cache.getClass().getSimpleName()));
        }
        if (layer < 0 || layer >= c.layout().layers()) throw new IllegalArgumentException("layer out of range: " + layer);
        if (kvHead < 0 || kvHead >= c.layout().kvHeads()) throw new IllegalArgumentException("KV head out of range: " + kvHead);
        return c.inspect(layer, kvHead).positions();
    }
}
