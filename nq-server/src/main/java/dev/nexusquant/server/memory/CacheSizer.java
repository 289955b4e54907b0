package dev.nexusquant.server.memory;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.kv.KvCompression;

/**
 * An upper bound of the bytes a cache may hold (as its {@code stats().bytes()} counts them) at any moment of a turn,
 * before the turn runs, so that the server reserves them first and the sum over all caches never passes the budget.
 *
 * <ul>
 *   <li>Dense caches ({@link DenseKvCache}): exact. Per layer: {@code ceil(t / 256)} chunks of 256 tokens of keys and
 *       values per KV head, and 256 positions (4 bytes) per chunk. Growth is monotone, so the peak of a turn is the
 *       size at its last token.</li>
 *   <li>Compressed caches ({@link KvCompression}): bounded. Per (layer, KV head) and new token: the full-precision
 *       window row (keys, values at the window precision, and a position), counted 1.5 times because the window's
 *       arrays grow by half when full, while prompt rows are staged there before compression; the row compressed
 *       again with the widest codec there is (fp32 keys and values, 8 KiB... per row at most 4 bytes a value and 64
 *       bytes of scales) because at the end of a prompt the segments are written while the window still holds the
 *       rows; 8 bytes of position and 16 bytes of attention-mass accumulators. Per (layer, head) and turn: the window
 *       and block (1.5 times), the means and balance scales, and 1 KiB of segment headers. The bound is far above
 *       what a compressed cache ends up holding (the server re-measures after each turn and keeps only that), and
 *       {@code CacheSizerTest} checks it against real caches on random turns.</li>
 *   <li>Other caches: the compressed-cache bound with fp32 rows (no guarantee; {@link MeteredKvCache} still stops a
 *       cache that passes its reservation).</li>
 * </ul>
 */
public final class CacheSizer {

    private final KvLayout layout;
    private final KvCacheFactory factory;
    private final DenseKvCache.Precision dense; // null unless the factory makes dense caches
    private final long emptyBytes;

    public CacheSizer(KvCacheFactory factory, KvLayout layout) {
        this.layout = layout;
        this.factory = factory;
        try (KvCache probe = factory.create(layout)) {
            this.dense = probe instanceof DenseKvCache d ? d.precision() : null;
            this.emptyBytes = probe.stats().bytes();
        }
    }

    public KvCacheFactory factory() {
        return factory;
    }

    /** Bytes a new, empty cache holds (compressed caches allocate their observation buffers at once). */
    public long emptyBytes() {
        return emptyBytes;
    }

    /**
     * The most bytes the cache may hold while it grows from {@code tokensBefore} tokens (holding {@code heldBytes})
     * to {@code tokensAfter}.
     */
    public long peakBytes(long heldBytes, long tokensBefore, long tokensAfter) {
        long added = Math.max(0, tokensAfter - tokensBefore);
        if (dense != null) return Math.max(heldBytes, denseBytes(tokensAfter));
        long heads = (long) layout.layers() * layout.kvHeads();
        int dim = layout.headDim();
        int window = 32, block = 32;
        int windowValueBytes = 4;
        if (factory instanceof KvCompression c) {
            window = c.window();
            block = Math.max(c.block(), Session.MAX_BATCH);
            windowValueBytes = c.windowPrecision() == KvCompression.Precision.F16 ? 2 : 4;
        } else {
            block = Session.MAX_BATCH;
        }
        long windowRow = 2L * dim * windowValueBytes + 4;
        long codedRow = 2L * (4L * dim + 64);
        long perToken = windowRow * 3 / 2 + codedRow + 8 + 16;
        long perTurn = (long) (window + 2 * block) * windowRow * 3 / 2 + 12L * dim + 1024;
        return Math.max(heldBytes, emptyBytes) + heads * (added * perToken + perTurn);
    }

    /** Exact bytes of a dense cache holding {@code tokens} tokens. */
    long denseBytes(long tokens) {
        long chunks = (tokens + DenseKvCache.CHUNK_TOKENS - 1) / DenseKvCache.CHUNK_TOKENS;
        int eb = dense == DenseKvCache.Precision.FP32 ? 4 : 2;
        long perLayer = chunks * layout.kvHeads() * 2L * DenseKvCache.CHUNK_TOKENS * layout.headDim() * eb
                + chunks * DenseKvCache.CHUNK_TOKENS * 4L;
        return layout.layers() * perLayer;
    }

    public boolean exact() {
        return dense != null;
    }
}
