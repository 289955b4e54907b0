package dev.nexusquant.server.memory;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.codec.RowCodecs;

/**
 * An upper bound of the bytes a cache may hold (as its {@code stats().bytes()} counts them) at any moment of a turn,
 * before the turn runs, so that the server reserves them first and the sum over all caches never passes the budget.
 *
 * <ul>
 *   <li>Dense caches ({@link DenseKvCache}): exact. Per layer: {@code ceil(t / CHUNK_TOKENS)} chunks of
 *       {@link DenseKvCache#CHUNK_TOKENS} tokens of keys and values per KV head, and as many positions (4 bytes) per chunk. Growth is monotone, so the peak of a turn is the
 *       size at its last token.</li>
 *   <li>Compressed caches ({@link KvCompression}): bounded. Per (layer, KV head): the full-precision window rows
 *       (keys and values at the window precision, a position and an attention-mass slot), counted 1.5 times because
 *       the window's arrays grow by half when full: all the tokens of a first prompt (up to the staging limit, as
 *       the cache stages a prompt uncompressed until its end), or the window and two blocks for a later turn, whose
 *       rows are compressed a block at a time; per new token, a row of the widest codes of the configuration (each
 *       layer's codecs, the aged ones and their boosted forms) for keys and values, 8 bytes of position and 16 of
 *       attention-mass accumulators; per block, a segment header and the rounding of codes to whole blocks; the
 *       means and key scales. {@code CacheSizerTest} checks the bound against real caches on random turns.</li>
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
        this.coded = factory instanceof KvCompression c ? coded(c, layout) : null;
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
        long perHead;
        if (factory instanceof KvCompression c) {
            int w = c.window(), b = Math.max(1, c.block());
            long windowRow = 2L * dim * (c.windowPrecision() == KvCompression.Precision.F16 ? 2 : 4) + 4 + 8; // + attention mass
            long stagingRows = tokensBefore == 0
                    ? Math.min(added, (long) c.stagingLimit() + Session.MAX_BATCH) + w + b // the first prompt waits uncompressed
                    : w + 2L * b;                                                            // later rows: a block at a time
            long staging = stagingRows * windowRow * 3 / 2;                                  // arrays grow by half
            long codes = added * (coded.perRow() + 8 + 16);                                  // codes, position, mass
            long segments = (added / b + 2) * (12 + coded.perBlock() + 64);                  // headers, block rounding
            perHead = staging + codes + segments + 12L * dim;                                // + means and key scales
        } else {
            long windowRow = 2L * dim * 4 + 4;
            perHead = added * (windowRow * 3 / 2 + 2L * (4L * dim + 64) + 24)
                    + (32 + 2L * Session.MAX_BATCH) * windowRow * 3 / 2 + 12L * dim + 1024;
        }
        return Math.max(heldBytes, emptyBytes) + heads * perHead;
    }

    /** The widest codes a compressed cache of this configuration may write: bytes per row (keys + values), per block. */
    private record Coded(long perRow, long perBlock) {
    }

    private final Coded coded;

    private static Coded coded(KvCompression c, KvLayout layout) {
        int dim = layout.headDim();
        java.util.List<String> keys = new java.util.ArrayList<>(), values = new java.util.ArrayList<>();
        for (int l = 0; l < layout.layers(); l++) {
            keys.add(c.keyCodecFor(l, layout.layers()));
            values.add(c.valueCodecFor(l, layout.layers()));
        }
        if (c.agedKeyCodec() != null) {
            keys.add(c.agedKeyCodec());
            values.add(c.agedValueCodec());
        }
        for (String k : java.util.List.copyOf(keys)) keys.add(RowCodecs.boosted(k));
        for (String v : java.util.List.copyOf(values)) values.add(RowCodecs.boosted(v));
        if (c.pin() > 0) {
            keys.add("fp16");
            values.add("fp16");
        }
        long[] k = widest(keys, dim, true), v = widest(values, dim, false);
        return new Coded(k[0] + v[0], k[1] + v[1]);
    }

    /** {ceil(bytes per row), bytes per block} of the widest of these codecs. */
    private static long[] widest(java.util.List<String> names, int dim, boolean forKeys) {
        long row = 0, block = 0;
        for (String n : names) {
            VectorCompressor vc = RowCodecs.create(n, dim, forKeys);
            row = Math.max(row, (vc.bytesPerBlock() + vc.vectorsPerBlock() - 1) / vc.vectorsPerBlock());
            block = Math.max(block, vc.bytesPerBlock());
        }
        return new long[]{row, block};
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
