package dev.nexusquant.kv;

import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.H2OAccumulator;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.kv.attention.AttentionKernels;

import java.util.Arrays;
import java.util.IdentityHashMap;

/**
 * Attention of the query heads of one KV head over what a {@link HeadState} holds, computed on the compressed form.
 *
 * <p>Per query head, online softmax over chunks of at most {@value #CHUNK} rows: each compressed chunk is decoded once
 * into scratch and scored against the query in the storage domain ({@link RowTransform#queriesToStorage}; the centred
 * mean's contribution {@code q . mean} is added per query), values are accumulated in the storage domain and rotated
 * back once per query at the end. Keys stored with RoPE undone are instead transformed back and re-rotated to their
 * position per key. Window rows are scored directly. Rows after a query's position are masked.
 *
 * <p>What attention leaves behind for eviction: the prompt's last queries ({@link PromptQueryRing}), the attention
 * mass each window row received, and the logits of young segments' rows, turned into their attention mass once the
 * softmax's final maximum and sum are known.
 */
final class CompressedAttention {

    static final int CHUNK = 64;

    private final KvCompression cfg;
    private final int dim;
    private final int group;
    private final int qDim;
    private final float invSqrtD;
    private final Kernels kernels;
    private final AttentionKernels ak;
    private final MemoryAccount account;

    CompressedAttention(KvCompression cfg, KvLayout layout, AttentionKernels ak, MemoryAccount account) {
        this.cfg = cfg;
        this.dim = layout.headDim();
        this.group = layout.groupSize();
        this.qDim = layout.qDim();
        this.invSqrtD = (float) (1.0 / Math.sqrt(dim));
        this.ak = ak;
        this.kernels = ak.base();
        this.account = account;
    }

    /**
     * Attention for {@code n} query positions of the query heads of {@code kvHead}: reads {@code q} ([n][qDim]) and
     * writes the head outputs into {@code out} ([n][qDim]).
     *
     * @param recordMass    record the attention each window row receives (the eviction policy ranks by it)
     * @param recordYoung   record the attention each young segment's row receives (ranked when it ages)
     */
    void attend(HeadState hd, int kvHead, int n, int[] positions, float[] q, float[] out, boolean recordMass,
                boolean recordYoung) {
        int m = n * group;                 // query heads in this call
        float[] qv = new float[m * dim];   // [m][dim] queries of this KV head's group
        for (int i = 0; i < n; i++) {
            System.arraycopy(q, i * qDim + kvHead * group * dim, qv, i * group * dim, group * dim);
        }
        if (hd.promptQueries != null) {
            synchronized (hd) {
                if (hd.promptQueries != null) hd.promptQueries.record(n, positions, qv);
            }
        }

        var segments = hd.segments.list();
        Softmax sm = new Softmax(m, !segments.isEmpty());
        float[] kbuf = new float[CHUNK * dim];
        float[] vbuf = new float[CHUNK * dim];
        float[] s = new float[m * CHUNK];   // [m][CHUNK] scores, then softmax weights
        int[] pbuf = new int[CHUNK];
        float[] work = new float[dev.nexusquant.codec.klt.KltBasis.rowsScratch(dim)]; // scratch of the KLT rebuild (rows per pass)

        RowTransform t = hd.transform;
        YoungLogits young = recordYoung ? new YoungLogits() : null;
        if (!segments.isEmpty()) {
            boolean pre = t.preRope();
            float[] qs = qv;    // queries in the key storage domain
            float[] qmu = null; // q . keyMean
            if (!pre) {
                qs = t.queriesToStorage(qv, m);
                if (t.keyMean() != null) {
                    qmu = new float[m];
                    for (int j = 0; j < m; j++) qmu[j] = kernels.dot(qv, j * dim, t.keyMean(), 0, dim);
                }
            }
            for (Segment seg : segments) {
                int rows = seg.rows();
                if (young != null && seg.mass() != null) young.start(seg, rows, m);
                for (int from = 0; from < rows; from += CHUNK) {
                    int cnt = Math.min(CHUNK, rows - from);
                    long clock = AttendStages.now();
                    seg.keys().decode(from, cnt, kbuf, 0);
                    clock = AttendStages.lap(AttendStages.Stage.KEY_DECODE, clock);
                    seg.values().decode(from, cnt, vbuf, 0);
                    clock = AttendStages.lap(AttendStages.Stage.VALUE_DECODE, clock);
                    boolean needPos = pre || seg.positions().last() > positions[0]; // decode: never masked
                    if (needPos) seg.positions().decode(from, cnt, pbuf);
                    AttendStages.lap(AttendStages.Stage.POSITIONS, clock);
                    int rebuilt = 0;
                    if (pre) {
                        rebuilt = t.keysFromStorage(kbuf, cnt, pbuf, work, seg.keys().codec());
                    }
                    clock = AttendStages.now();
                    ak.scores(qs, 0, m, dim, kbuf, cnt, qmu, invSqrtD, s, CHUNK);
                    clock = AttendStages.lap(AttendStages.Stage.SCORES, clock);
                    if (needPos) mask(s, m, cnt, positions, pbuf, seg.positions().last());
                    if (young != null && seg.mass() != null) young.keep(seg, from, cnt, s, m);
                    clock = AttendStages.lap(AttendStages.Stage.MASK, clock);
                    sm.absorb(s, m, cnt, vbuf, true);
                    AttendStages.lap(AttendStages.Stage.ABSORB, clock);
                    AttendStages.chunk(cnt, (long) cnt * rebuilt);
                }
            }
        }

        RowWindow w = hd.window;
        int wc = w.count();
        float[] windowLogits = recordMass && wc > 0 ? new float[m * wc] : null; // [m][wc], for the H2O mass
        for (int from = 0; from < wc; from += CHUNK) {
            int cnt = Math.min(CHUNK, wc - from);
            w.keys(from, cnt, kbuf, 0);
            w.values(from, cnt, vbuf, 0);
            ak.scores(qv, 0, m, dim, kbuf, cnt, null, invSqrtD, s, CHUNK);
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
        if (sm.accC != null) t.rotateBackRows(sm.accC, m);
        for (int j = 0; j < m; j++) {
            int o = (j / group) * qDim + qDimOff + (j % group) * dim;
            float inv = sm.sum[j] > 0f ? 1f / sm.sum[j] : 0f;
            if (sm.accC != null) {
                if (t.valueMean() != null) kernels.axpy(sm.sumC[j], t.valueMean(), 0, sm.accC, j * dim, dim);
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
                float cmax = ak.max(s, o, cnt);
                if (cmax == Float.NEGATIVE_INFINITY) {
                    Arrays.fill(s, o, o + cnt, 0f);
                    continue;
                }
                if (cmax > mx[j]) {
                    if (mx[j] != Float.NEGATIVE_INFINITY) {
                        float f = (float) Math.exp(mx[j] - cmax);
                        sum[j] *= f;
                        ak.scale(accW, j * dim, dim, f);
                        if (accC != null) {
                            ak.scale(accC, j * dim, dim, f);
                            sumC[j] *= f;
                        }
                    }
                    mx[j] = cmax;
                }
                float e = kernels.expShifted(s, o, cnt, mx[j]);
                sum[j] += e;
                if (compressed) sumC[j] += e;
            }
            ak.accumulate(s, CHUNK, m, cnt, vbuf, dim, compressed ? accC : accW);
        }
    }

    /**
     * Feeds the head's attention-mass accumulator with the softmax probabilities that this call's queries gave the
     * window rows ({@code [group][visible rows]} per query position), from the logits the main pass computed
     * ({@code logits}: [n * group][window rows], -Infinity where masked).
     */
    private void recordMass(HeadState hd, int n, int[] positions, float[] logits, float[] mx, float[] sum) {
        RowWindow w = hd.window;
        int wc = w.count();
        float[] probs = new float[group * wc];
        synchronized (hd) {
            long before = hd.received == null ? 0 : hd.received.bytes();
            if (hd.received == null) hd.received = new H2OAccumulator(w.capacity(), GqaReduce.SUM); // room the planner counted
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
            account.addAccumulators(hd.received.bytes() - before);
        }
    }

    /**
     * The logits that one attend call gave the rows of the young segments (those ranked when they age), kept as the
     * main pass computes them; once the softmax's final maximum and sum are known, {@link #record} turns them into
     * probabilities and feeds each segment's attention-mass accumulator ({@code [group][rows]} per query position).
     */
    private final class YoungLogits {
        private final IdentityHashMap<Segment, float[]> logits = new IdentityHashMap<>();

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

        void record(HeadState hd, int n, float[] mx, float[] sum) {
            for (var e : logits.entrySet()) {
                Segment seg = e.getKey();
                float[] l = e.getValue();
                int rows = seg.rows();
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
                    account.addAccumulators(seg.mass().bytes() - before);
                }
            }
        }
    }
}
