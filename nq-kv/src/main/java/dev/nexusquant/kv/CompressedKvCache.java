package dev.nexusquant.kv;

import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.H2OAccumulator;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.kv.attention.AttentionKernels;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.kv.rows.CodedRows;

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
    private final VectorCompressor[] keyCodecs;   // [layers]
    private final VectorCompressor[] valueCodecs; // [layers]
    private final VectorCompressor pinCodec;      // fp16 rows of the pinned first positions
    private final VectorCompressor[] agedKeys;    // [layers] codecs of rows older than ageAfter, or null
    private final VectorCompressor[] agedValues;  // [layers]
    private final HeadRotation rotation;
    private final PositionalRotation rope; // null unless keys are stored with RoPE undone
    private final Head[][] heads;          // [layers][kvHeads]
    private final AttentionKernels vm = AttentionKernels.preferred();
    private final Kernels kernels = vm.base();

    private long seen;            // tokens appended to layer 0
    private int lastPosition = -1;
    private boolean prompted;     // the first prompt has been compressed
    private boolean allocated;    // the boosted layers have been chosen
    private int[] boosted = new int[0];
    private long bytes;           // running total of what every array holds, but the H2O accumulators
    private final java.util.concurrent.atomic.AtomicLong accumulatorBytes = new java.util.concurrent.atomic.AtomicLong();
    private boolean closed;
    private KvStats closedStats;

    /** A compressed run of tokens of one head: kept positions, key rows and value rows. */
    record Segment(PositionSet positions, CodedRows keys, CodedRows values, boolean aged, H2OAccumulator mass) {
        /** Bytes of the arrays the segment holds (the mass accumulator is counted separately, see attend). */
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
        float[] keyScale;  // [dim] channel balance w (keys stored as w * (k - mean), queries divided by w), or null
        short[] obsQ;      // [observation][group * dim] ring of the last prompt queries, fp16 (SnapKV), null when unused
        int[] obsPos;      // [observation]
        int obsCount;      // queries recorded (may exceed the ring size)
        H2OAccumulator received; // attention mass each window row received (index = window row), or null
        int firstUnaged;   // segments before it are all aged

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
        this.keyCodecs = new VectorCompressor[layout.layers()];
        this.valueCodecs = new VectorCompressor[layout.layers()];
        for (int l = 0; l < layout.layers(); l++) {
            keyCodecs[l] = RowCodecs.create(cfg.keyCodecFor(l, layout.layers()), dim, true);
            valueCodecs[l] = RowCodecs.create(cfg.valueCodecFor(l, layout.layers()), dim, false);
        }
        this.pinCodec = new dev.nexusquant.kv.baseline.Fp16Codec(dim);
        if (cfg.agedKeyCodec() != null) {
            agedKeys = new VectorCompressor[layout.layers()];
            agedValues = new VectorCompressor[layout.layers()];
            for (int l = 0; l < layout.layers(); l++) {
                agedKeys[l] = RowCodecs.create(cfg.agedKeyCodec(), dim, true);
                agedValues[l] = RowCodecs.create(cfg.agedValueCodec(), dim, false);
            }
        } else {
            agedKeys = null;
            agedValues = null;
        }
        this.rotation = cfg.rotate() ? Transforms.hadamard(dim, cfg.seed()) : HeadRotation.IDENTITY;
        this.rope = cfg.keyDomain() == KvCompression.KeyDomain.PRE_ROPE ? Transforms.rope(layout) : null;
        boolean half = cfg.windowPrecision() == KvCompression.Precision.F16;
        // the prompt's last queries: SnapKV votes with them, key balancing measures them
        int observation = cfg.eviction().policy() == Eviction.Policy.SNAPKV || cfg.balanceKeys() || cfg.boost() > 0
                ? (cfg.eviction().observation() > 0 ? cfg.eviction().observation() : 32) : 0;
        boolean observe = observation > 0;
        this.heads = new Head[layout.layers()][layout.kvHeads()];
        for (Head[] row : heads) {
            for (int h = 0; h < row.length; h++) {
                Head hd = new Head(dim, half);
                if (observe) {
                    hd.obsQ = new short[observation * group * dim];
                    hd.obsPos = new int[observation];
                    bytes += 2L * hd.obsQ.length + 4L * hd.obsPos.length;
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
                if (agedKeys != null) age(layer, hd);
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
                    bytes -= 2L * hd.obsQ.length + 4L * hd.obsPos.length;
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
        if (!allocated) allocateBits();
        Head hd = heads[layer][kvHead];
        RowWindow w = hd.window;
        int newest = w.position(w.count() - 1);
        int[] keep;
        if (evictAtAging()) {
            // only rows already older than the aging distance are ranked and dropped now; younger ones are all kept
            // (quantized) and ranked when they age, by the attention they received meanwhile
            int oldCount = 0;
            while (oldCount < candidates && w.position(oldCount) < newest - cfg.ageAfter()) oldCount++;
            int[] keepOld = selectKept(hd, oldCount, firstPrompt);
            keep = Arrays.copyOf(keepOld, keepOld.length + candidates - oldCount);
            for (int i = oldCount; i < candidates; i++) keep[keepOld.length + i - oldCount] = i;
        } else {
            keep = selectKept(hd, candidates, firstPrompt);
        }
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
        if (hd.keyScale == null && cfg.balanceKeys() && hd.obsQ != null && hd.obsCount > 0) {
            hd.keyScale = KeyBalance.scales(k, candidates, hd.keyMean, observations(hd), Math.min(hd.obsCount, hd.obsPos.length) * group,
                    dim, layout.rope());
            bytes += 4L * dim;
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
                if (hd.keyScale != null) {
                    for (int j = 0; j < dim; j++) kk[i * dim + j] *= hd.keyScale[j];
                }
                rotation.forward(kk, i * dim);
                rotation.forward(vv, i * dim);
            }
            // the first `pin` positions of the sequence (the attention sinks) are stored in fp16, the rest coded
            int pinned = 0;
            while (pinned < kept && kp[pinned] < cfg.pin()) pinned++;
            if (pinned > 0) addSegment(hd, kp, kk, vv, 0, pinned, pinCodec, pinCodec, true);
            // rows already older than the aging distance go straight to the aged codecs; the rest in blocks that age
            int old = pinned;
            if (agedKeys != null) {
                while (old < kept && kp[old] < newest - cfg.ageAfter()) old++;
                if (old > pinned) addSegment(hd, kp, kk, vv, pinned, old - pinned, agedKeys[layer], agedValues[layer], true);
            }
            int step = agedKeys != null ? cfg.block() : kept - old;
            for (int from = old; from < kept; from += Math.max(1, step)) {
                addSegment(hd, kp, kk, vv, from, Math.min(step, kept - from), keyCodecs[layer], valueCodecs[layer], false);
            }
        }
        w.removeFirst(candidates);
        if (hd.received != null) {
            int len = hd.received.length();
            if (len > candidates) {
                int[] rest = new int[len - candidates];
                for (int i = 0; i < rest.length; i++) rest[i] = candidates + i;
                hd.received.retain(rest);
            } else {
                hd.received.reset();
            }
        }
    }

    /**
     * Chooses, once, before the first compression, the {@code boost} layers whose attention the base key codec
     * would disturb most on this very prompt, and gives them the boosted codecs (two more bits). The measure: for
     * every observation query of the prompt, the KL divergence between its softmax over the staged keys and over the
     * same keys quantized (the rows that will be compressed) and stored as configured (RoPE undone, centred,
     * rotated). No calibration data: each prompt measures itself.
     */
    private void allocateBits() {
        allocated = true;
        if (cfg.boost() <= 0) return;
        int layers = layout.layers();
        double[] sensitivity = new double[layers];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < layout.kvHeads(); h++) sensitivity[l] += keySensitivity(l, heads[l][h]);
        }
        Integer[] order = new Integer[layers];
        for (int l = 0; l < layers; l++) order[l] = l;
        Arrays.sort(order, (a, b) -> Double.compare(sensitivity[b], sensitivity[a]));
        boosted = new int[Math.min(cfg.boost(), layers)];
        for (int i = 0; i < boosted.length; i++) {
            int l = order[i];
            boosted[i] = l;
            keyCodecs[l] = RowCodecs.create(RowCodecs.boosted(cfg.keyCodecFor(l, layers)), dim, true);
            valueCodecs[l] = RowCodecs.create(RowCodecs.boosted(cfg.valueCodecFor(l, layers)), dim, false);
            if (agedKeys != null) {
                agedKeys[l] = RowCodecs.create(RowCodecs.boosted(cfg.agedKeyCodec()), dim, true);
                agedValues[l] = RowCodecs.create(RowCodecs.boosted(cfg.agedValueCodec()), dim, false);
            }
        }
        Arrays.sort(boosted);
    }

    /** The layers {@link #allocateBits()} boosted (empty before the first compression or without boost). */
    int[] boostedLayers() {
        return boosted.clone();
    }

    /** Sum over observation queries and query heads of KL(softmax exact || softmax quantized) for one head. */
    private double keySensitivity(int layer, Head hd) {
        RowWindow w = hd.window;
        int rows = w.count();
        int candidates = rows - cfg.window();
        if (hd.obsQ == null || hd.obsCount == 0 || candidates <= 0) return 0;
        float[] exact = new float[rows * dim];
        w.keys(0, rows, exact, 0);
        float[] quant = exact.clone();
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) pos[r] = w.position(r);
        // the candidates as they would be stored and read back: the same transforms as compress() and attend()
        float[] mean = cfg.centerKeys() ? new float[dim] : null;
        if (rope != null) for (int r = 0; r < candidates; r++) rope.inverse(quant, r * dim, pos[r]);
        if (mean != null) {
            for (int r = 0; r < candidates; r++) for (int c = 0; c < dim; c++) mean[c] += quant[r * dim + c] / candidates;
        }
        for (int r = 0; r < candidates; r++) {
            if (mean != null) for (int c = 0; c < dim; c++) quant[r * dim + c] -= mean[c];
            rotation.forward(quant, r * dim);
        }
        CodedRows coded = CodedRows.encode(keyCodecs[layer], quant, 0, candidates);
        coded.decode(0, candidates, quant, 0);
        for (int r = 0; r < candidates; r++) {
            rotation.inverse(quant, r * dim);
            if (mean != null) for (int c = 0; c < dim; c++) quant[r * dim + c] += mean[c];
            if (rope != null) rope.forward(quant, r * dim, pos[r]);
        }
        int cap = hd.obsPos.length;
        int nObs = Math.min(cap, hd.obsCount);
        float[] obs = observations(hd);
        float[] le = new float[rows], lq = new float[rows];
        double kl = 0;
        for (int o = 0; o < nObs; o++) {
            int slot = (hd.obsCount - 1 - o) % cap;
            int visible = 0;
            while (visible < rows && pos[visible] <= hd.obsPos[slot]) visible++;
            if (visible == 0) continue;
            for (int g = 0; g < group; g++) {
                int qo = slot * group * dim + g * dim;
                for (int r = 0; r < visible; r++) {
                    le[r] = kernels.dot(obs, qo, exact, r * dim, dim) * invSqrtD;
                    lq[r] = kernels.dot(obs, qo, quant, r * dim, dim) * invSqrtD;
                }
                kl += klDivergence(le, lq, visible);
            }
        }
        return kl;
    }

    /** KL(softmax(a) || softmax(b)) over the first n logits, in double. */
    static double klDivergence(float[] a, float[] b, int n) {
        double ma = Double.NEGATIVE_INFINITY, mb = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            ma = Math.max(ma, a[i]);
            mb = Math.max(mb, b[i]);
        }
        double za = 0, zb = 0;
        for (int i = 0; i < n; i++) {
            za += Math.exp(a[i] - ma);
            zb += Math.exp(b[i] - mb);
        }
        double lza = Math.log(za) + ma, lzb = Math.log(zb) + mb, kl = 0;
        for (int i = 0; i < n; i++) {
            double lpa = a[i] - lza;
            kl += Math.exp(lpa) * (lpa - (b[i] - lzb));
        }
        return Math.max(0, kl);
    }

    /**
     * Re-codes, with the aged codecs, the segments whose newest row is now more than {@code ageAfter} positions older
     * than the newest token: precision decays with age (the codes are decoded to the storage domain and coded again,
     * rotation, centring and positions unchanged).
     */
    private void age(int layer, Head hd) {
        if (hd.window.count() == 0) return;
        int limit = hd.window.position(hd.window.count() - 1) - cfg.ageAfter();
        for (int i = hd.firstUnaged; i < hd.segments.size(); i++) {
            Segment seg = hd.segments.get(i);
            if (seg.aged()) {
                if (i == hd.firstUnaged) hd.firstUnaged++;
                continue;
            }
            if (i < hd.firstUnaged) continue;
            if (seg.positions().last() >= limit) break;
            int n = seg.keys().rows();
            float[] k = new float[n * dim], v = new float[n * dim];
            seg.keys().decode(0, n, k, 0);
            seg.values().decode(0, n, v, 0);
            int[] pos = new int[n];
            seg.positions().decode(0, n, pos);
            int kept = n;
            if (seg.mass() != null) {
                // drop what the eviction policy drops, ranked by the mean attention the rows received while young
                float[] score = Arrays.copyOf(seg.mass().normalizedScores(), n);
                int[] keep = Importance.select(score, n, Math.max(0, cfg.eviction().keepCount(n)), 0);
                kept = keep.length;
                for (int j = 0; j < kept; j++) {
                    System.arraycopy(k, keep[j] * dim, k, j * dim, dim);
                    System.arraycopy(v, keep[j] * dim, v, j * dim, dim);
                    pos[j] = pos[keep[j]];
                }
                accumulatorBytes.addAndGet(-seg.mass().bytes());
            }
            if (kept == 0) {
                hd.segments.remove(i);
                bytes -= seg.bytes();
                i--;
                continue;
            }
            long add = CodedRows.bytesFor(agedKeys[layer], kept) + CodedRows.bytesFor(agedValues[layer], kept);
            checkBudget(Math.max(0, add - seg.keys().bytes() - seg.values().bytes()));
            Segment aged = new Segment(kept == n ? seg.positions() : new PositionSet(pos, kept),
                    CodedRows.encode(agedKeys[layer], k, 0, kept), CodedRows.encode(agedValues[layer], v, 0, kept),
                    true, null);
            hd.segments.set(i, aged);
            bytes += aged.bytes() - seg.bytes();
            if (i == hd.firstUnaged) hd.firstUnaged++;
        }
    }

    /** Encodes rows {@code [from, from + n)} of the transformed kept rows into a new segment of the head. */
    private void addSegment(Head hd, int[] kp, float[] kk, float[] vv, int from, int n, VectorCompressor kc,
                            VectorCompressor vc, boolean aged) {
        long add = CodedRows.bytesFor(kc, n) + CodedRows.bytesFor(vc, n) + 12 + 8L * n; // positions: <= 8 bytes a token
        checkBudget(add);
        int[] p = Arrays.copyOfRange(kp, from, from + n);
        H2OAccumulator mass = !aged && evictAtAging() ? new H2OAccumulator(n, GqaReduce.SUM) : null;
        if (mass != null) accumulatorBytes.addAndGet(mass.bytes());
        Segment seg = new Segment(new PositionSet(p, n), CodedRows.encode(kc, kk, from * dim, n),
                CodedRows.encode(vc, vv, from * dim, n), aged, mass);
        hd.segments.add(seg);
        bytes += seg.bytes();
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
        float[] score;
        if (ev.policy() == Eviction.Policy.SNAPKV && firstPrompt && hd.obsQ != null && hd.obsCount > 0) {
            score = Importance.snapKv(this, hd, candidates);
        } else if (ev.policy() != Eviction.Policy.STREAMING && hd.received != null) {
            // H2O on the prompt: the raw sums (the paper's form); later blocks: the mean over the queries that saw them
            float[] all = firstPrompt ? hd.received.scores() : hd.received.normalizedScores();
            score = Arrays.copyOf(all, candidates);
        } else {
            score = new float[candidates];
        }
        int sinks = 0;
        while (sinks < candidates && w.position(sinks) < Math.max(ev.sinks(), cfg.pin())) sinks++;
        return Importance.select(score, candidates, Math.max(sinks, ev.keepCount(candidates)), sinks);
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
            long room = cfg.memoryBudget() - bytes - accumulatorBytes.get() + w.bytes();
            long perRow = w.bytesFor(1);
            cap = (int) Math.max(needed, Math.min(cap, room / perRow));
        }
        long delta = w.bytesFor(cap) - w.bytes();
        checkBudget(delta);
        w.ensureCapacity(cap);
        bytes += delta;
    }

    private void checkBudget(long add) {
        long held = bytes + accumulatorBytes.get();
        if (cfg.memoryBudget() > 0 && held + add > cfg.memoryBudget()) {
            throw new KvMemoryExceededException(cfg.memoryBudget(), held + add, seen);
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

        // the logits of young segments' rows, kept to feed their attention-mass accumulators after the softmax
        YoungLogits young = evictAtAging() && tracksMass() ? new YoungLogits() : null;
        if (!hd.segments.isEmpty()) {
            boolean pre = rope != null;
            float[] qs = qv;   // queries in the key storage domain
            float[] qmu = null; // q . keyMean
            if (!pre) {
                if (!rotation.isIdentity() || hd.keyScale != null) {
                    qs = qv.clone();
                    for (int j = 0; j < m; j++) {
                        if (hd.keyScale != null) {
                            for (int c = 0; c < dim; c++) qs[j * dim + c] /= hd.keyScale[c];
                        }
                        rotation.forward(qs, j * dim);
                    }
                }
                if (hd.keyMean != null) {
                    qmu = new float[m];
                    for (int j = 0; j < m; j++) qmu[j] = kernels.dot(qv, j * dim, hd.keyMean, 0, dim);
                }
            }
            for (Segment seg : hd.segments) {
                int rows = seg.keys().rows();
                if (young != null && seg.mass() != null) young.start(seg, rows, m);
                for (int from = 0; from < rows; from += CHUNK) {
                    int cnt = Math.min(CHUNK, rows - from);
                    seg.keys().decode(from, cnt, kbuf, 0);
                    seg.values().decode(from, cnt, vbuf, 0);
                    boolean needPos = pre || seg.positions().last() > positions[0]; // decode: never masked
                    if (needPos) seg.positions().decode(from, cnt, pbuf);
                    if (pre) {
                        for (int r = 0; r < cnt; r++) {
                            rotation.inverse(kbuf, r * dim);
                            if (hd.keyScale != null) {
                                for (int c = 0; c < dim; c++) kbuf[r * dim + c] /= hd.keyScale[c];
                            }
                            if (hd.keyMean != null) kernels.axpy(1f, hd.keyMean, 0, kbuf, r * dim, dim);
                            rope.forward(kbuf, r * dim, pbuf[r]);
                        }
                    }
                    vm.scores(qs, 0, m, dim, kbuf, cnt, qmu, invSqrtD, s, CHUNK);
                    if (needPos) mask(s, m, cnt, positions, pbuf, seg.positions().last());
                    if (young != null && seg.mass() != null) young.keep(seg, from, cnt, s, m);
                    sm.absorb(s, m, cnt, vbuf, true);
                }
            }
        }

        RowWindow w = hd.window;
        int wc = w.count();
        float[] windowLogits = tracksMass() && wc > 0 ? new float[m * wc] : null; // [m][wc], for the H2O mass
        for (int from = 0; from < wc; from += CHUNK) {
            int cnt = Math.min(CHUNK, wc - from);
            w.keys(from, cnt, kbuf, 0);
            w.values(from, cnt, vbuf, 0);
            vm.scores(qv, 0, m, dim, kbuf, cnt, null, invSqrtD, s, CHUNK);
            for (int r = 0; r < cnt; r++) pbuf[r] = w.position(from + r);
            mask(s, m, cnt, positions, pbuf, pbuf[cnt - 1]);
            if (windowLogits != null) {
                for (int j = 0; j < m; j++) System.arraycopy(s, j * CHUNK, windowLogits, j * wc + from, cnt);
            }
            sm.absorb(s, m, cnt, vbuf, false);
        }

        if (windowLogits != null) recordMass(hd, n, positions, windowLogits, sm.mx, sm.sum);
        if (young != null) young.record(hd, n, sm.mx, sm.sum);

        // out = (H^T accC + sumC * valueMean + accW) / sum
        int qDimOff = kvHead * group * dim;
        for (int j = 0; j < m; j++) {
            int o = (j / group) * qDim + qDimOff + (j % group) * dim;
            float inv = sm.sum[j] > 0f ? 1f / sm.sum[j] : 0f;
            if (sm.accC != null) {
                rotation.inverse(sm.accC, j * dim);
                if (hd.valueMean != null) kernels.axpy(sm.sumC[j], hd.valueMean, 0, sm.accC, j * dim, dim);
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
                float e = kernels.expShifted(s, o, cnt, mx[j]);
                sum[j] += e;
                if (compressed) sumC[j] += e;
            }
            vm.accumulate(s, CHUNK, m, cnt, vbuf, dim, compressed ? accC : accW);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Importance bookkeeping
    // ---------------------------------------------------------------------------------------------------------

    /** With aging configured, dropping happens when rows age (not when they leave the full-precision window). */
    private boolean evictAtAging() {
        return agedKeys != null && cfg.eviction().drops();
    }

    private boolean tracksMass() {
        Eviction ev = cfg.eviction();
        return ev.drops() && ev.policy() != Eviction.Policy.STREAMING
                && (prompted || ev.policy() == Eviction.Policy.H2O);
    }

    /**
     * Feeds the codec's H2O accumulator of this head with the softmax probabilities that this call's queries gave the
     * window rows ({@code [group][visible rows]} per query position), from the logits the main pass computed
     * ({@code logits}: [n * group][window rows], -Infinity where masked).
     */
    private void recordMass(Head hd, int n, int[] positions, float[] logits, float[] mx, float[] sum) {
        RowWindow w = hd.window;
        int wc = w.count();
        float[] probs = new float[group * wc];
        synchronized (hd) {
            if (hd.received == null) hd.received = new H2OAccumulator(0, GqaReduce.SUM);
            long before = hd.received.bytes();
            for (int i = 0; i < n; i++) {
                int visible = 0;
                while (visible < wc && w.position(visible) <= positions[i]) visible++;
                if (visible == 0) continue;
                for (int g = 0; g < group; g++) {
                    int j = i * group + g;
                    float inv = sum[j] > 0f ? 1f / sum[j] : 0f;
                    for (int r = 0; r < visible; r++) {
                        probs[g * visible + r] = (float) Math.exp(logits[j * wc + r] - mx[j]) * inv;
                    }
                }
                hd.received.addGroup(probs, 0, group, visible);
            }
            accumulatorBytes.addAndGet(hd.received.bytes() - before);
        }
    }

    /**
     * The logits that one attend call gave the rows of the young segments (those ranked when they age), kept as the
     * main pass computes them; once the softmax's final maximum and sum are known, {@link #record} turns them into
     * probabilities and feeds each segment's attention-mass accumulator ({@code [group][rows]} per query position).
     */
    private final class YoungLogits {
        private final java.util.IdentityHashMap<Segment, float[]> logits = new java.util.IdentityHashMap<>();

        void start(Segment seg, int rows, int m) {
            float[] l = new float[m * rows];
            Arrays.fill(l, Float.NEGATIVE_INFINITY);
            logits.put(seg, l);
        }

        /** Copies the chunk's scores ({@code s} is [m][CHUNK]) before the softmax overwrites them. */
        void keep(Segment seg, int from, int cnt, float[] s, int m) {
            float[] l = logits.get(seg);
            int rows = l.length / m;
            for (int j = 0; j < m; j++) System.arraycopy(s, j * CHUNK, l, j * rows + from, cnt);
        }

        void record(Head hd, int n, float[] mx, float[] sum) {
            for (var e : logits.entrySet()) {
                Segment seg = e.getKey();
                float[] l = e.getValue();
                int rows = seg.keys().rows();
                for (int j = 0; j < n * group; j++) {
                    float inv = sum[j] > 0f ? 1f / sum[j] : 0f;
                    for (int r = 0; r < rows; r++) {
                        int i = j * rows + r;
                        l[i] = l[i] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(l[i] - mx[j]) * inv;
                    }
                }
                synchronized (hd) {
                    long before = seg.mass().bytes();
                    for (int i = 0; i < n; i++) seg.mass().addGroup(l, i * group * rows, group, rows);
                    accumulatorBytes.addAndGet(seg.mass().bytes() - before);
                }
            }
        }
    }

    /** The recorded observation queries as floats: [observation][group * dim]. */
    static float[] observations(Head hd) {
        float[] q = new float[hd.obsQ.length];
        for (int i = 0; i < q.length; i++) q[i] = Float.float16ToFloat(hd.obsQ[i]);
        return q;
    }

    /** Keeps the last {@code observation} queries of the prompt (all heads of the group) for SnapKV. */
    private void recordObservation(Head hd, int n, int[] positions, float[] qv) {
        synchronized (hd) {
            if (hd.obsQ == null) return;
            int cap = hd.obsPos.length;
            int gd = group * dim;
            for (int i = Math.max(0, n - cap); i < n; i++) {
                int slot = hd.obsCount % cap;
                for (int c = 0; c < gd; c++) hd.obsQ[slot * gd + c] = Float.floatToFloat16(qv[i * gd + c]);
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

    AttentionKernels vm() {
        return vm;
    }

    Kernels kernels() {
        return kernels;
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
        return new KvStats(seen, kept, bytes + accumulatorBytes.get(), seen * layout.fp16BytesPerToken(), values);
    }

    /** Recomputes the bytes held from every array (tests compare it with the running total). */
    long recountBytes() {
        long b = 0;
        for (Head[] row : heads) {
            for (Head hd : row) {
                b += hd.window.bytes();
                for (Segment s : hd.segments) b += s.bytes() + (s.mass() == null ? 0 : s.mass().bytes());
                if (hd.keyMean != null) b += 4L * (hd.keyMean.length + hd.valueMean.length);
                if (hd.keyScale != null) b += 4L * hd.keyScale.length;
                if (hd.received != null) b += hd.received.bytes();
                if (hd.obsQ != null) b += 2L * hd.obsQ.length + 4L * hd.obsPos.length;
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
                if (hd.keyScale != null) {
                    for (int c = 0; c < dim; c++) k[i * dim + c] /= hd.keyScale[c];
                }
                if (hd.keyMean != null) {
                    kernels.axpy(1f, hd.keyMean, 0, k, i * dim, dim);
                    kernels.axpy(1f, hd.valueMean, 0, v, i * dim, dim);
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
        accumulatorBytes.set(0);
    }
}
