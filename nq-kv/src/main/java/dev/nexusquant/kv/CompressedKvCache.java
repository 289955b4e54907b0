package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.kv.attention.VectorMath;
import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

import java.util.ArrayList;
import java.util.Arrays;

/**
 * A KV cache that holds old tokens compressed and computes attention on the compressed form.
 *
 * <p>Per (layer, KV head) it holds a list of compressed {@link Segment}s (ascending positions) and a
 * {@link RowWindow} of full-precision rows. While the first prompt is prefilled every row is staged in the window.
 * At {@link #endOfPrompt()} all but the most recent {@code window} rows are ranked, evicted, transformed and
 * quantized into a segment. Afterwards, whenever the window holds {@code window + block} rows before an append, its
 * oldest {@code block} rows are ranked by the attention they received, evicted to the same keep ratio and compressed.
 *
 * <p>Attention (per query head, online softmax over blocks of at most {@value #CHUNK} rows): each compressed chunk is
 * decoded once into scratch and scored against the query rotated into the storage domain ({@code Hq}; the centred
 * mean's contribution {@code q . mu_k} is added per query), values are accumulated in the storage domain and rotated
 * back once per query at the end. Keys stored with RoPE undone are instead rotated back and re-rotated to their
 * position per key. Window rows are scored directly.
 *
 * <p>Threads: {@link #attend} may run concurrently for different KV heads (and query ranges); per-head state that
 * attend updates (observation queries, attention mass) is guarded by the head's monitor.
 */
final class CompressedKvCache implements KvCache {

    static final int CHUNK = 64;

    private final KvLayout layout;
    private final KvCompression cfg;
    private final int dim;
    private final int group;
    private final float invSqrtD;
    private final RowCodec[] keyCodecs;   // [layers]
    private final RowCodec[] valueCodecs; // [layers]
    private final HeadRotation rotation;
    private final PositionalRotation rope; // null unless keys are stored with RoPE undone
    private final Head[][] heads;          // [layers][kvHeads]
    private final VectorMath vm = VectorMath.get();

    private long seen;            // tokens appended to layer 0
    private int lastPosition = -1;
    private boolean prompted;     // the first prompt has been compressed
    private long bytes;           // running total of what every array holds
    private boolean closed;
    private KvStats closedStats;

    /** A compressed run of tokens of one head: kept positions, key rows and value rows. */
    record Segment(PositionSet positions, EncodedRows keys, EncodedRows values) {
        long bytes() {
            return positions.bytes() + keys.bytes() + values.bytes();
        }
    }

    /** Everything one (layer, KV head) holds. */
    static final class Head {
        final ArrayList<Segment> segments = new ArrayList<>();
        final RowWindow window;
        float[] keyMean;   // [dim] in the key storage pre-domain, null until the first compression (or not centred)
        float[] valueMean; // [dim]
        float[] obsQ;      // [observation][group * dim] ring of the last prompt queries (SnapKV), null when unused
        int[] obsPos;      // [observation]
        int obsCount;      // queries recorded (may exceed the ring size)

        Head(int dim, boolean half) {
            window = new RowWindow(dim, half);
        }
    }

    CompressedKvCache(KvLayout layout, KvCompression cfg) {
        this.layout = layout;
        this.cfg = cfg;
        this.dim = layout.headDim();
        this.group = layout.groupSize();
        this.invSqrtD = (float) (1.0 / Math.sqrt(dim));
        this.keyCodecs = new RowCodec[layout.layers()];
        this.valueCodecs = new RowCodec[layout.layers()];
        for (int l = 0; l < layout.layers(); l++) {
            keyCodecs[l] = RowCodecs.create(cfg.keyCodecFor(l), dim, true);
            valueCodecs[l] = RowCodecs.create(cfg.valueCodecFor(l), dim, false);
        }
        this.rotation = cfg.rotate() ? Transforms.hadamard(dim, cfg.seed()) : HeadRotation.IDENTITY;
        this.rope = cfg.keyDomain() == KvCompression.KeyDomain.PRE_ROPE ? Transforms.rope(layout) : null;
        boolean half = cfg.windowPrecision() == KvCompression.Precision.F16;
        boolean observe = cfg.eviction().policy() == Eviction.Policy.SNAPKV && cfg.eviction().observation() > 0;
        this.heads = new Head[layout.layers()][layout.kvHeads()];
        for (Head[] row : heads) {
            for (int h = 0; h < row.length; h++) {
                Head hd = new Head(dim, half);
                if (observe) {
                    hd.obsQ = new float[cfg.eviction().observation() * group * dim];
                    hd.obsPos = new int[cfg.eviction().observation()];
                    bytes += 4L * hd.obsQ.length + 4L * hd.obsPos.length;
                }
                row[h] = hd;
            }
        }
        checkBudget(0);
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    /** The configuration this cache was built from. */
    KvCompression config() {
        return cfg;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Appending and compressing
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public void append(int layer, int n, int[] positions, float[] keys, float[] values) {
        ensureOpen();
        if (layer < 0 || layer >= layout.layers()) throw new IllegalArgumentException("layer out of range: " + layer);
        if (n <= 0) return;
        if (layer == 0) {
            for (int i = 0; i < n; i++) {
                int p = positions[i];
                if (p <= (i == 0 ? lastPosition : positions[i - 1])) {
                    throw new IllegalArgumentException("positions must increase: " + p + " after "
                            + (i == 0 ? lastPosition : positions[i - 1]));
                }
            }
        }
        int kvDim = layout.kvDim();
        for (int h = 0; h < layout.kvHeads(); h++) {
            Head hd = heads[layer][h];
            if (prompted) {
                // generation (or a later turn): blocks that leave the recent window are compressed
                while (hd.window.count() >= cfg.window() + cfg.block()) {
                    compress(layer, h, cfg.block(), false);
                }
            } else if (hd.window.count() + n > cfg.stagingLimit() && hd.window.count() > cfg.window()) {
                // a prompt longer than the staging limit is compressed as it comes
                compress(layer, h, hd.window.count() - cfg.window(), true);
            }
            growWindow(hd, hd.window.count() + n);
            for (int i = 0; i < n; i++) {
                hd.window.add(positions[i], keys, i * kvDim + h * dim, values, i * kvDim + h * dim);
            }
        }
        if (layer == 0) {
            seen += n;
            lastPosition = positions[n - 1];
        }
    }

    @Override
    public void endOfPrompt() {
        ensureOpen();
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                Head hd = heads[l][h];
                int candidates = hd.window.count() - cfg.window();
                if (candidates > 0) compress(l, h, candidates, !prompted);
                if (hd.obsQ != null) { // the observation window served the first prompt; free it
                    bytes -= 4L * hd.obsQ.length + 4L * hd.obsPos.length;
                    hd.obsQ = null;
                    hd.obsPos = null;
                }
                int keep = cfg.window() + cfg.block();
                if (hd.window.capacity() > keep) {
                    long before = hd.window.bytes();
                    hd.window.trimTo(keep);
                    bytes += hd.window.bytes() - before;
                }
            }
        }
        prompted = true;
    }

    /**
     * Ranks the oldest {@code candidates} rows of a head's window, drops what the eviction policy drops, and
     * compresses the rest into a new segment.
     *
     * @param firstPrompt rank with the prompt's observation queries (SnapKV) rather than received attention mass
     */
    private void compress(int layer, int kvHead, int candidates, boolean firstPrompt) {
        Head hd = heads[layer][kvHead];
        RowWindow w = hd.window;
        int[] keep = selectKept(hd, candidates, firstPrompt);
        int kept = keep.length;
        float[] k = new float[Math.max(1, candidates) * dim]; // candidate rows [candidates][dim]
        float[] v = new float[Math.max(1, candidates) * dim];
        w.keys(0, candidates, k, 0);
        w.values(0, candidates, v, 0);
        int[] pos = new int[candidates];
        for (int i = 0; i < candidates; i++) pos[i] = w.position(i);
        if (rope != null) {
            for (int i = 0; i < candidates; i++) rope.inverse(k, i * dim, pos[i]);
        }
        if (hd.keyMean == null && (cfg.centerKeys() || cfg.centerValues())) {
            // the per-head means are fixed once, from every candidate of the first compression (kept or not)
            hd.keyMean = cfg.centerKeys() ? mean(k, candidates) : new float[dim];
            hd.valueMean = cfg.centerValues() ? mean(v, candidates) : new float[dim];
            bytes += 8L * dim;
        }
        if (kept > 0) {
            // gather kept rows, centre, rotate: [kept][dim]
            float[] kk = new float[kept * dim];
            float[] vv = new float[kept * dim];
            int[] kp = new int[kept];
            for (int i = 0; i < kept; i++) {
                int r = keep[i];
                System.arraycopy(k, r * dim, kk, i * dim, dim);
                System.arraycopy(v, r * dim, vv, i * dim, dim);
                kp[i] = pos[r];
                if (hd.keyMean != null) {
                    for (int j = 0; j < dim; j++) {
                        kk[i * dim + j] -= hd.keyMean[j];
                        vv[i * dim + j] -= hd.valueMean[j];
                    }
                }
                rotation.forward(kk, i * dim);
                rotation.forward(vv, i * dim);
            }
            RowCodec kc = keyCodecs[layer];
            RowCodec vc = valueCodecs[layer];
            long add = kc.bytesFor(kept) + vc.bytesFor(kept) + 12 + 8L * kept; // positions: at most 8 bytes a token
            checkBudget(add);
            Segment s = new Segment(new PositionSet(kp, kept), kc.encode(kk, 0, kept), vc.encode(vv, 0, kept));
            hd.segments.add(s);
            bytes += s.bytes();
        }
        w.removeFirst(candidates);
    }

    /** Indices (ascending, into the window's oldest {@code candidates} rows) of the rows to keep. */
    private int[] selectKept(Head hd, int candidates, boolean firstPrompt) {
        Eviction ev = cfg.eviction();
        RowWindow w = hd.window;
        if (!ev.drops()) {
            int[] all = new int[candidates];
            for (int i = 0; i < candidates; i++) all[i] = i;
            return all;
        }
        float[] score = new float[candidates];
        if (ev.policy() == Eviction.Policy.SNAPKV && firstPrompt && hd.obsQ != null && hd.obsCount > 0) {
            Importance.snapKv(this, hd, candidates, score);
        } else if (ev.policy() != Eviction.Policy.STREAMING) {
            System.arraycopy(w.mass(), 0, score, 0, candidates);
        }
        int[] pos = new int[candidates];
        for (int i = 0; i < candidates; i++) pos[i] = w.position(i);
        return Importance.select(score, pos, candidates, ev.keepCount(candidates), ev.sinks(), ev.pool(),
                ev.policy() == Eviction.Policy.SNAPKV && firstPrompt);
    }

    private float[] mean(float[] rows, int n) {
        double[] acc = new double[dim];
        for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) acc[j] += rows[i * dim + j];
        float[] m = new float[dim];
        for (int j = 0; j < dim; j++) m[j] = (float) (acc[j] / Math.max(1, n));
        return m;
    }

    private void growWindow(Head hd, int needed) {
        RowWindow w = hd.window;
        if (needed <= w.capacity()) return;
        int cap = Math.max(needed, Math.max(cfg.window() + cfg.block(), w.capacity() + (w.capacity() >> 1)));
        if (cfg.memoryBudget() > 0) {
            long room = cfg.memoryBudget() - bytes + w.bytes();
            long perRow = w.bytesFor(1);
            cap = (int) Math.max(needed, Math.min(cap, room / perRow));
        }
        long delta = w.bytesFor(cap) - w.bytes();
        checkBudget(delta);
        w.ensureCapacity(cap);
        bytes += delta;
    }

    private void checkBudget(long add) {
        if (cfg.memoryBudget() > 0 && bytes + add > cfg.memoryBudget()) {
            throw new KvMemoryExceededException(cfg.memoryBudget(), bytes + add, seen);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Attention
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
        Head hd = heads[layer][kvHead];
        int qDim = layout.qDim();
        int m = n * group;                 // query heads in this call
        float[] qv = new float[m * dim];   // [m][dim] queries of this KV head's group
        for (int i = 0; i < n; i++) {
            System.arraycopy(q, i * qDim + kvHead * group * dim, qv, i * group * dim, group * dim);
        }
        if (hd.obsQ != null) recordObservation(hd, n, positions, qv);

        Softmax sm = new Softmax(m, !hd.segments.isEmpty());
        float[] kbuf = new float[CHUNK * dim];
        float[] vbuf = new float[CHUNK * dim];
        float[] s = new float[m * CHUNK];   // [m][CHUNK] scores, then softmax weights
        int[] pbuf = new int[CHUNK];

        if (!hd.segments.isEmpty()) {
            boolean pre = rope != null;
            float[] qs = qv;   // queries in the key storage domain
            float[] qmu = null; // q . keyMean
            if (!pre) {
                if (!rotation.isIdentity()) {
                    qs = qv.clone();
                    for (int j = 0; j < m; j++) rotation.forward(qs, j * dim);
                }
                if (hd.keyMean != null) {
                    qmu = new float[m];
                    for (int j = 0; j < m; j++) qmu[j] = vm.dot(qv, j * dim, hd.keyMean, 0, dim);
                }
            }
            for (Segment seg : hd.segments) {
                int rows = seg.keys().rows();
                for (int from = 0; from < rows; from += CHUNK) {
                    int cnt = Math.min(CHUNK, rows - from);
                    seg.keys().decode(from, cnt, kbuf, 0);
                    seg.values().decode(from, cnt, vbuf, 0);
                    boolean needPos = pre || seg.positions().last() > positions[0]; // decode: never masked
                    if (needPos) seg.positions().decode(from, cnt, pbuf);
                    if (pre) {
                        for (int r = 0; r < cnt; r++) {
                            rotation.inverse(kbuf, r * dim);
                            if (hd.keyMean != null) vm.axpy(1f, hd.keyMean, 0, kbuf, r * dim, dim);
                            rope.forward(kbuf, r * dim, pbuf[r]);
                        }
                    }
                    vm.scores(qs, 0, m, dim, kbuf, cnt, qmu, invSqrtD, s, CHUNK);
                    if (needPos) mask(s, m, cnt, positions, pbuf, seg.positions().last());
                    sm.absorb(s, m, cnt, vbuf, true);
                }
            }
        }

        RowWindow w = hd.window;
        int wc = w.count();
        for (int from = 0; from < wc; from += CHUNK) {
            int cnt = Math.min(CHUNK, wc - from);
            w.keys(from, cnt, kbuf, 0);
            w.values(from, cnt, vbuf, 0);
            vm.scores(qv, 0, m, dim, kbuf, cnt, null, invSqrtD, s, CHUNK);
            for (int r = 0; r < cnt; r++) pbuf[r] = w.position(from + r);
            mask(s, m, cnt, positions, pbuf, pbuf[cnt - 1]);
            sm.absorb(s, m, cnt, vbuf, false);
        }

        if (tracksMass()) recordMass(hd, m, positions, qv, sm.mx, sm.sum, kbuf);

        // out = (H^T accC + sumC * valueMean + accW) / sum
        int qDimOff = kvHead * group * dim;
        for (int j = 0; j < m; j++) {
            int o = (j / group) * qDim + qDimOff + (j % group) * dim;
            float inv = sm.sum[j] > 0f ? 1f / sm.sum[j] : 0f;
            if (sm.accC != null) {
                rotation.inverse(sm.accC, j * dim);
                if (hd.valueMean != null) vm.axpy(sm.sumC[j], hd.valueMean, 0, sm.accC, j * dim, dim);
                for (int c = 0; c < dim; c++) out[o + c] = (sm.accC[j * dim + c] + sm.accW[j * dim + c]) * inv;
            } else {
                for (int c = 0; c < dim; c++) out[o + c] = sm.accW[j * dim + c] * inv;
            }
        }
    }

    /** Sets the scores of rows after each query's position to -Infinity (causality inside a batch). */
    private void mask(float[] s, int m, int cnt, int[] positions, int[] rowPos, int lastRowPos) {
        for (int j = 0; j < m; j++) {
            int qpos = positions[j / group];
            if (lastRowPos <= qpos) continue;
            for (int r = 0; r < cnt; r++) if (rowPos[r] > qpos) s[j * CHUNK + r] = Float.NEGATIVE_INFINITY;
        }
    }

    /**
     * Online-softmax state of the query heads of one attend call: running maximum, running sum, and two
     * accumulators (compressed rows in the storage domain, window rows in the original domain) that are rescaled
     * together whenever the maximum grows.
     */
    private final class Softmax {
        final float[] mx;    // [m]
        final float[] sum;   // [m]
        final float[] accW;  // [m][dim]
        final float[] accC;  // [m][dim] or null when there are no compressed rows
        final float[] sumC;  // [m] mass on compressed rows, or null

        Softmax(int m, boolean compressed) {
            mx = new float[m];
            Arrays.fill(mx, Float.NEGATIVE_INFINITY);
            sum = new float[m];
            accW = new float[m * dim];
            accC = compressed ? new float[m * dim] : null;
            sumC = compressed ? new float[m] : null;
        }

        /**
         * Adds one chunk: {@code s} holds [m][CHUNK] scores (-Infinity = masked) of {@code cnt} rows whose values are
         * {@code vbuf}; they become the softmax weights in place and the values are accumulated.
         */
        void absorb(float[] s, int m, int cnt, float[] vbuf, boolean compressed) {
            for (int j = 0; j < m; j++) {
                int o = j * CHUNK;
                float cmax = vm.max(s, o, cnt);
                if (cmax == Float.NEGATIVE_INFINITY) {
                    Arrays.fill(s, o, o + cnt, 0f);
                    continue;
                }
                if (cmax > mx[j]) {
                    if (mx[j] != Float.NEGATIVE_INFINITY) {
                        float f = (float) Math.exp(mx[j] - cmax);
                        sum[j] *= f;
                        vm.scale(accW, j * dim, dim, f);
                        if (accC != null) {
                            vm.scale(accC, j * dim, dim, f);
                            sumC[j] *= f;
                        }
                    }
                    mx[j] = cmax;
                }
                float e = vm.expInPlace(s, o, cnt, mx[j]);
                sum[j] += e;
                if (compressed) sumC[j] += e;
            }
            vm.accumulate(s, CHUNK, m, cnt, vbuf, dim, compressed ? accC : accW);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Importance bookkeeping
    // ---------------------------------------------------------------------------------------------------------

    private boolean tracksMass() {
        Eviction ev = cfg.eviction();
        return ev.drops() && ev.policy() != Eviction.Policy.STREAMING
                && (prompted || ev.policy() == Eviction.Policy.H2O);
    }

    /** Adds each window row's softmax probability, summed over this call's query heads, to its attention mass. */
    private void recordMass(Head hd, int m, int[] positions, float[] qv, float[] mx, float[] sum, float[] scratch) {
        RowWindow w = hd.window;
        int wc = w.count();
        float[] add = new float[wc];
        for (int from = 0; from < wc; from += CHUNK) {
            int cnt = Math.min(CHUNK, wc - from);
            w.keys(from, cnt, scratch, 0);
            for (int j = 0; j < m; j++) {
                if (sum[j] <= 0f) continue;
                int qpos = positions[j / group];
                float inv = 1f / sum[j];
                for (int r = 0; r < cnt; r++) {
                    if (w.position(from + r) > qpos) continue;
                    float sc = vm.dot(qv, j * dim, scratch, r * dim, dim) * invSqrtD;
                    add[from + r] += (float) Math.exp(sc - mx[j]) * inv;
                }
            }
        }
        synchronized (hd) {
            float[] mass = w.mass();
            for (int r = 0; r < wc; r++) mass[r] += add[r];
        }
    }

    /** Keeps the last {@code observation} queries of the prompt (all heads of the group) for SnapKV. */
    private void recordObservation(Head hd, int n, int[] positions, float[] qv) {
        synchronized (hd) {
            if (hd.obsQ == null) return;
            int cap = hd.obsPos.length;
            int gd = group * dim;
            for (int i = Math.max(0, n - cap); i < n; i++) {
                int slot = hd.obsCount % cap;
                System.arraycopy(qv, i * gd, hd.obsQ, slot * gd, gd);
                hd.obsPos[slot] = positions[i];
                hd.obsCount++;
            }
        }
    }

    int dim() {
        return dim;
    }

    int group() {
        return group;
    }

    float invSqrtD() {
        return invSqrtD;
    }

    VectorMath vm() {
        return vm;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Accounting
    // ---------------------------------------------------------------------------------------------------------

    /** Once generation started, new tokens come at most a block at a time (see {@link KvCache#maxAppend()}). */
    @Override
    public int maxAppend() {
        return prompted ? cfg.block() : Integer.MAX_VALUE;
    }

    @Override
    public long tokensSeen() {
        return seen;
    }

    @Override
    public KvStats stats() {
        if (closed) return closedStats;
        long rowsHeld = 0;
        for (Head[] row : heads) {
            for (Head hd : row) {
                rowsHeld += hd.window.count();
                for (Segment s : hd.segments) rowsHeld += s.keys().rows();
            }
        }
        double kept = (double) rowsHeld / ((long) layout.layers() * layout.kvHeads());
        long values = seen * layout.layers() * 2L * layout.kvDim();
        return new KvStats(seen, kept, bytes, seen * layout.fp16BytesPerToken(), values);
    }

    /** Recomputes the bytes held from every array (tests compare it with the running total). */
    long recountBytes() {
        long b = 0;
        for (Head[] row : heads) {
            for (Head hd : row) {
                b += hd.window.bytes();
                for (Segment s : hd.segments) b += s.bytes();
                if (hd.keyMean != null) b += 4L * (hd.keyMean.length + hd.valueMean.length);
                if (hd.obsQ != null) b += 4L * (hd.obsQ.length + hd.obsPos.length);
            }
        }
        return b;
    }

    /** What one head holds, decoded back to the domain the engine appended (keys with RoPE): [rows][dim]. */
    record Expanded(int[] positions, float[] keys, float[] values) {
        int rows() {
            return positions.length;
        }
    }

    /** Decodes every row one head holds (compressed segments, then the window), undoing every transform. */
    Expanded expand(int layer, int kvHead) {
        Head hd = heads[layer][kvHead];
        int rows = hd.window.count();
        for (Segment s : hd.segments) rows += s.keys().rows();
        int[] pos = new int[rows];
        float[] k = new float[rows * dim];
        float[] v = new float[rows * dim];
        int r = 0;
        for (Segment s : hd.segments) {
            int n = s.keys().rows();
            int[] p = new int[n];
            s.positions().decode(0, n, p);
            System.arraycopy(p, 0, pos, r, n);
            s.keys().decode(0, n, k, r * dim);
            s.values().decode(0, n, v, r * dim);
            for (int i = r; i < r + n; i++) {
                rotation.inverse(k, i * dim);
                rotation.inverse(v, i * dim);
                if (hd.keyMean != null) {
                    vm.axpy(1f, hd.keyMean, 0, k, i * dim, dim);
                    vm.axpy(1f, hd.valueMean, 0, v, i * dim, dim);
                }
                if (rope != null) rope.forward(k, i * dim, pos[i]);
            }
            r += n;
        }
        int wc = hd.window.count();
        hd.window.keys(0, wc, k, r * dim);
        hd.window.values(0, wc, v, r * dim);
        for (int i = 0; i < wc; i++) pos[r + i] = hd.window.position(i);
        return new Expanded(pos, k, v);
    }

    Head head(int layer, int kvHead) {
        return heads[layer][kvHead];
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KV cache is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closedStats = stats(); // what it held at its end stays readable
        closed = true;
        for (Head[] row : heads) Arrays.fill(row, null);
        bytes = 0;
    }
}
