package dev.nexusquant.engine.kv;

import dev.nexusquant.codec.state.StateFormatException;
import dev.nexusquant.codec.state.StateInput;
import dev.nexusquant.codec.state.StateOutput;
import dev.nexusquant.engine.tensor.Kernels;

import java.util.Arrays;

/**
 * The default KV cache: every key and value kept, in fp32 or fp16, and attention computed exactly.
 *
 * <p>Storage per layer and KV head: chunks of {@link #CHUNK_TOKENS} tokens, keys transposed ({@code [headDim][CHUNK_TOKENS]},
 * so that scores of consecutive tokens are one vector) and values row-major ({@code [CHUNK_TOKENS][headDim]}), allocated
 * as tokens arrive, so memory follows the tokens seen and the whole context is never
 * preallocated. {@link #stats()} counts the bytes of every chunk and position array allocated.
 *
 * <p>Attention for a query at position {@code p} runs over the cached tokens with position {@code <= p}: scores
 * {@code q . k / sqrt(headDim)}, a softmax with the maximum subtracted, then the weighted sum of values.
 */
public final class DenseKvCache implements KvCache {

    /** How the keys and values are stored. */
    public enum Precision { FP32, FP16 }

    /**
     * Tokens per allocated chunk: 64 (4 vectors of 16 tokens, what the attention kernels score in one pass). A new
     * session's first token allocates one chunk per layer, KV head, keys and values; with 256-token chunks that was 6.3
     * MB zeroed for the project model's first token, and most of it never used by short sessions.
     */
    public static final int CHUNK_TOKENS = 64;

    /** Factory of fp32 dense caches (the engine's default). */
    public static final KvCacheFactory FP32 = factory(Precision.FP32);
    /** Factory of fp16 dense caches. */
    public static final KvCacheFactory FP16 = factory(Precision.FP16);

    private final KvLayout layout;
    private final Precision precision;
    private final Kernels kernels;
    private final int headDim;
    private final int kvDim;
    private final float scale;
    /** [layer][kvHead][chunk] -> float[CHUNK_TOKENS * headDim] (FP32) or short[...] (FP16); null until used. */
    private final Object[][][] keys;
    private final Object[][][] values;
    /** [layer][capacity]: positions of cached tokens, ascending. */
    private final int[][] positions;
    /** [layer]: tokens cached. */
    private final int[] counts;
    /** [kvHead]: attention score scratch ([4][tokens]); heads may be attended concurrently, so one per head. */
    private final float[][] scores;
    /** [kvHead][4]: the tokens each of up to 4 query rows attends to (scratch, one per head as {@link #scores}). */
    private final int[][] limits;
    private long bytes;
    private boolean closed;

    public DenseKvCache(KvLayout layout, Precision precision) {
        this(layout, precision, Kernels.preferred());
    }

    public DenseKvCache(KvLayout layout, Precision precision, Kernels kernels) {
        this.layout = layout;
        this.precision = precision;
        this.kernels = kernels;
        this.headDim = layout.headDim();
        this.kvDim = layout.kvDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.keys = new Object[layout.layers()][layout.kvHeads()][0];
        this.values = new Object[layout.layers()][layout.kvHeads()][0];
        this.positions = new int[layout.layers()][0];
        this.counts = new int[layout.layers()];
        this.scores = new float[layout.kvHeads()][0];
        this.limits = new int[layout.kvHeads()][4];
    }

    /** A factory of dense caches of one precision; {@code describe()} is {@code "fp32"} or {@code "fp16"}. */
    public static KvCacheFactory factory(Precision precision) {
        return new KvCacheFactory() {
            @Override
            public KvCache create(KvLayout layout) {
                return new DenseKvCache(layout, precision);
            }

            @Override
            public String describe() {
                return precision.name().toLowerCase(java.util.Locale.ROOT);
            }

            @Override
            public String toString() {
                return describe();
            }
        };
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    public Precision precision() {
        return precision;
    }

    /** Attention leaves nothing behind: the appended rows (at this cache's precision) are the whole state. */
    @Override
    public PromptReplay promptReplay() {
        return PromptReplay.rowsOnly(precision == Precision.FP16);
    }

    @Override
    public void append(int layer, int n, int[] pos, float[] k, float[] v) {
        checkOpen();
        if (layer < 0 || layer >= layout.layers()) throw new IllegalArgumentException("layer " + layer + " out of range");
        if (n < 0 || pos.length < n || k.length < (long) n * kvDim || v.length < (long) n * kvDim) {
            throw new IllegalArgumentException("append: arrays too short for " + n + " tokens");
        }
        int count = counts[layer];
        int last = count == 0 ? Integer.MIN_VALUE : positions[layer][count - 1];
        for (int i = 0; i < n; i++) {
            if (pos[i] <= last || pos[i] < 0) {
                throw new IllegalArgumentException("append: position " + pos[i] + " is not above " + last + " (layer " + layer + ")");
            }
            last = pos[i];
        }
        ensureCapacity(layer, count + n);
        System.arraycopy(pos, 0, positions[layer], count, n);
        for (int i = 0; i < n; i++) {
            int t = count + i;
            int chunk = t / CHUNK_TOKENS, at = (t % CHUNK_TOKENS) * headDim;
            for (int h = 0; h < layout.kvHeads(); h++) {
                int src = i * kvDim + h * headDim;
                int slot = t % CHUNK_TOKENS;
                if (precision == Precision.FP32) {
                    float[] kc = (float[]) keys[layer][h][chunk];
                    for (int d = 0; d < headDim; d++) kc[d * CHUNK_TOKENS + slot] = k[src + d];
                    System.arraycopy(v, src, (float[]) values[layer][h][chunk], at, headDim);
                } else {
                    short[] kc = (short[]) keys[layer][h][chunk], vc = (short[]) values[layer][h][chunk];
                    for (int d = 0; d < headDim; d++) {
                        kc[d * CHUNK_TOKENS + slot] = Float.floatToFloat16(k[src + d]);
                        vc[at + d] = Float.floatToFloat16(v[src + d]);
                    }
                }
            }
        }
        counts[layer] = count + n;
    }

    private void ensureCapacity(int layer, int tokens) {
        int chunksNeeded = (tokens + CHUNK_TOKENS - 1) / CHUNK_TOKENS;
        int have = keys[layer][0].length;
        if (chunksNeeded <= have) return;
        int elementBytes = precision == Precision.FP32 ? 4 : 2;
        for (int h = 0; h < layout.kvHeads(); h++) {
            Object[] kc = Arrays.copyOf(keys[layer][h], chunksNeeded);
            Object[] vc = Arrays.copyOf(values[layer][h], chunksNeeded);
            for (int c = have; c < chunksNeeded; c++) {
                kc[c] = precision == Precision.FP32 ? new float[CHUNK_TOKENS * headDim] : new short[CHUNK_TOKENS * headDim];
                vc[c] = precision == Precision.FP32 ? new float[CHUNK_TOKENS * headDim] : new short[CHUNK_TOKENS * headDim];
                bytes += 2L * CHUNK_TOKENS * headDim * elementBytes;
            }
            keys[layer][h] = kc;
            values[layer][h] = vc;
        }
        int[] p = Arrays.copyOf(positions[layer], chunksNeeded * CHUNK_TOKENS);
        bytes += 4L * (p.length - positions[layer].length);
        positions[layer] = p;
    }

    @Override
    public void attend(int layer, int kvHead, int n, int[] pos, float[] q, float[] out) {
        checkOpen();
        int count = counts[layer];
        int group = layout.groupSize();
        int qDim = layout.qDim();
        int[] cachedPos = positions[layer];
        // query rows are processed up to 4 at a time, sharing every key and value load: the group's heads of one token
        // when there are at least 4 of them or no fewer than the tokens (decode with GQA: both heads of a 2:1 group in
        // one pass over the keys), else the same head of up to 4 consecutive tokens
        boolean byHeads = group >= 4 || group >= n;
        int[] limit = limits[kvHead];
        for (int g0 = 0; g0 < group; g0 += byHeads ? 4 : 1) {
            for (int i0 = 0; i0 < n; i0 += byHeads ? 1 : 4) {
                int rows = byHeads ? Math.min(4, group - g0) : Math.min(4, n - i0);
                int stride = byHeads ? headDim : qDim;
                int off = i0 * qDim + (kvHead * group + g0) * headDim;
                int maxLimit = 0;
                for (int r = 0; r < rows; r++) {
                    limit[r] = upperBound(cachedPos, count, pos[byHeads ? i0 : i0 + r]); // tokens at positions <= the query's
                    maxLimit = Math.max(maxLimit, limit[r]);
                }
                attendRows(layer, kvHead, q, off, stride, rows, limit, maxLimit, out);
            }
        }
    }

    /** Attention of {@code rows} query rows at {@code q[off + r * stride]}, each over its first {@code limit[r]} tokens. */
    private void attendRows(int layer, int kvHead, float[] q, int off, int stride, int rows, int[] limit, int maxLimit, float[] out) {
        for (int r = 0; r < rows; r++) Arrays.fill(out, off + r * stride, off + r * stride + headDim, 0f);
        if (maxLimit == 0) return;
        int width = (maxLimit + 15) & ~15;
        float[] s = scores[kvHead];
        if (s.length < 4 * width) {
            s = new float[4 * Math.max(width, 2 * s.length / 4)];
            scores[kvHead] = s;
        }
        int sStride = s.length / 4;
        Object[] kChunks = keys[layer][kvHead], vChunks = values[layer][kvHead];
        for (int c = 0; c * CHUNK_TOKENS < maxLimit; c++) {
            // scored in whole vectors: the padding columns of a chunk hold zeros or earlier tokens, never read after
            int tokens = Math.min(CHUNK_TOKENS, (maxLimit - c * CHUNK_TOKENS + 15) & ~15);
            if (precision == Precision.FP32) {
                kernels.scores(q, off, stride, rows, headDim, (float[]) kChunks[c], 0, CHUNK_TOKENS, tokens, scale, s, c * CHUNK_TOKENS, sStride);
            } else {
                kernels.scoresF16(q, off, stride, rows, headDim, (short[]) kChunks[c], 0, CHUNK_TOKENS, tokens, scale, s, c * CHUNK_TOKENS, sStride);
            }
        }
        for (int r = 0; r < rows; r++) { // softmax over each row's own tokens; zero weight past them
            int base = r * sStride, lim = limit[r];
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < lim; t++) max = Math.max(max, s[base + t]);
            if (lim > 0) {
                float inv = 1f / kernels.expShifted(s, base, lim, max);
                for (int t = 0; t < lim; t++) s[base + t] *= inv;
            }
            Arrays.fill(s, base + lim, base + maxLimit, 0f);
        }
        for (int c = 0; c * CHUNK_TOKENS < maxLimit; c++) {
            int tokens = Math.min(CHUNK_TOKENS, maxLimit - c * CHUNK_TOKENS);
            if (precision == Precision.FP32) {
                kernels.weightedSum(s, c * CHUNK_TOKENS, sStride, rows, (float[]) vChunks[c], 0, tokens, headDim, out, off, stride);
            } else {
                kernels.weightedSumF16(s, c * CHUNK_TOKENS, sStride, rows, (short[]) vChunks[c], 0, tokens, headDim, out, off, stride);
            }
        }
    }

    /** Number of entries of {@code a[0..n)} (ascending) that are {@code <= key}. */
    static int upperBound(int[] a, int n, int key) {
        int lo = 0, hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= key) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Copies the key of cached token {@code t} (in append order) of one layer and KV head into {@code dst}. */
    public void readKey(int layer, int kvHead, int t, float[] dst, int dstOff) {
        if (t < 0 || t >= counts[layer]) throw new IndexOutOfBoundsException(t);
        Object chunk = keys[layer][kvHead][t / CHUNK_TOKENS];
        int slot = t % CHUNK_TOKENS;
        for (int d = 0; d < headDim; d++) {
            dst[dstOff + d] = precision == Precision.FP32 ? ((float[]) chunk)[d * CHUNK_TOKENS + slot]
                    : Float.float16ToFloat(((short[]) chunk)[d * CHUNK_TOKENS + slot]);
        }
    }

    /** Copies the value of cached token {@code t} of one layer and KV head into {@code dst}. */
    public void readValue(int layer, int kvHead, int t, float[] dst, int dstOff) {
        read(values[layer][kvHead], layer, t, dst, dstOff);
    }

    /** Position of cached token {@code t} of a layer. */
    public int position(int layer, int t) {
        if (t < 0 || t >= counts[layer]) throw new IndexOutOfBoundsException(t);
        return positions[layer][t];
    }

    /** Tokens cached in a layer. */
    public int size(int layer) {
        return counts[layer];
    }

    private void read(Object[] chunks, int layer, int t, float[] dst, int dstOff) {
        if (t < 0 || t >= counts[layer]) throw new IndexOutOfBoundsException(t);
        int at = (t % CHUNK_TOKENS) * headDim;
        if (precision == Precision.FP32) {
            System.arraycopy((float[]) chunks[t / CHUNK_TOKENS], at, dst, dstOff, headDim);
        } else {
            short[] c = (short[]) chunks[t / CHUNK_TOKENS];
            for (int d = 0; d < headDim; d++) dst[dstOff + d] = Float.float16ToFloat(c[at + d]);
        }
    }

    @Override
    public long tokensSeen() {
        return counts[0];
    }

    @Override
    public KvStats stats() {
        long seen = counts[0];
        return new KvStats(seen, seen, bytes, seen * layout.fp16BytesPerToken(),
                seen * layout.layers() * 2L * kvDim);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Saved state
    // ---------------------------------------------------------------------------------------------------------

    /** The state type of dense caches. */
    public static final String STATE_TYPE = "dense";

    /** Reads the state {@link #writeState} writes. */
    static final KvCacheReader READER = new KvCacheReader() {
        @Override
        public String stateType() {
            return STATE_TYPE;
        }

        @Override
        public KvCache read(KvLayout layout, String settings, StateInput in) throws StateFormatException {
            return DenseKvCache.read(layout, settings, in);
        }
    };

    @Override
    public String stateType() {
        return STATE_TYPE;
    }

    @Override
    public String settings() {
        return precision.name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Per layer: the token count, the positions (delta-coded), then the keys {@code [count][kvHeads * headDim]} and
     * the values, each in the cache's precision: fp32 byte-shuffled (exponent bytes together: 8.8% smaller files on the
     * project's model), or fp16 bits as held.
     */
    @Override
    public void writeState(StateOutput out) {
        checkOpen();
        out.u8(precision.ordinal());
        for (int l = 0; l < layout.layers(); l++) {
            int count = counts[l];
            out.varint(count);
            out.positions(positions[l], 0, count);
            float[] k = new float[count * kvDim], v = new float[count * kvDim]; // [count][kvHeads * headDim]
            for (int t = 0; t < count; t++) {
                for (int h = 0; h < layout.kvHeads(); h++) {
                    readKey(l, h, t, k, t * kvDim + h * headDim);
                    readValue(l, h, t, v, t * kvDim + h * headDim);
                }
            }
            if (precision == Precision.FP32) {
                out.shuffledFloats(k, 0, k.length).shuffledFloats(v, 0, v.length);
            } else { // fp16 bits as held (float16 -> float -> float16 is exact); shuffling fp16 did not pay
                short[] hk = new short[k.length], hv = new short[v.length];
                for (int i = 0; i < k.length; i++) {
                    hk[i] = Float.floatToFloat16(k[i]);
                    hv[i] = Float.floatToFloat16(v[i]);
                }
                out.shorts(hk, 0, hk.length).shorts(hv, 0, hv.length);
            }
        }
    }

    /** A cache rebuilt from {@link #writeState}'s bytes (appended again, so its arrays and bytes are the same). */
    static DenseKvCache read(KvLayout layout, String settings, StateInput in) throws StateFormatException {
        int p = in.u8("dense.precision");
        if (p >= Precision.values().length) throw StateInput.corrupt("dense.precision", "unknown precision " + p);
        Precision precision = Precision.values()[p];
        if (!precision.name().equalsIgnoreCase(settings)) {
            throw StateInput.corrupt("dense.precision", precision + " does not match the saved settings '" + settings + "'");
        }
        int kvDim = layout.kvDim();
        int rowBytes = 2 * kvDim * (precision == Precision.FP32 ? 4 : 2);
        DenseKvCache cache = new DenseKvCache(layout, precision);
        int first = -1;
        for (int l = 0; l < layout.layers(); l++) {
            String f = "dense.layer[" + l + "]";
            int count = in.count(f + ".count", Integer.MAX_VALUE - 1, rowBytes + 1);
            if (first >= 0 && count != first) throw StateInput.corrupt(f + ".count", count + " tokens, layer 0 has " + first);
            first = count;
            // a session's cache holds positions 0 .. count - 1
            int[] pos = in.positions(f + ".positions", count, Math.max(0, count - 1));
            float[] k = new float[count * kvDim], v = new float[count * kvDim];
            if (precision == Precision.FP32) {
                in.shuffledFloats(f + ".keys", k, 0, k.length);
                in.shuffledFloats(f + ".values", v, 0, v.length);
            } else {
                short[] h16 = new short[count * kvDim];
                in.shorts(f + ".keys", h16, 0, h16.length);
                for (int i = 0; i < h16.length; i++) k[i] = Float.float16ToFloat(h16[i]);
                in.shorts(f + ".values", h16, 0, h16.length);
                for (int i = 0; i < h16.length; i++) v[i] = Float.float16ToFloat(h16[i]);
            }
            for (int t0 = 0; t0 < count; t0 += CHUNK_TOKENS) { // appended in chunks, as the arrays were allocated
                int n = Math.min(CHUNK_TOKENS, count - t0);
                cache.append(l, n, java.util.Arrays.copyOfRange(pos, t0, t0 + n),
                        java.util.Arrays.copyOfRange(k, t0 * kvDim, (t0 + n) * kvDim),
                        java.util.Arrays.copyOfRange(v, t0 * kvDim, (t0 + n) * kvDim));
            }
        }
        return cache;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                keys[l][h] = new Object[0];
                values[l][h] = new Object[0];
            }
            positions[l] = new int[0];
            counts[l] = 0;
        }
        bytes = 0;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("KV cache is closed");
    }
}
