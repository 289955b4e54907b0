package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.tensor.Parallel;
import dev.nexusquant.kv.eviction.EvictionPolicy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntToLongFunction;

/**
 * Runs the {@link BudgetAllocator} for a {@link CompressedKvCache} with a ratio target, once, before the first
 * prompt is compressed: gathers each head's rows, ranking and coded candidates, counts the bytes the plan does not
 * decide about (full-precision window, young rows at their codecs, their attention-mass accumulators, the transform's
 * means), and gives every head its {@link HeadPlan}.
 *
 * <p>The target: {@code fp16 bytes of the prompt / ratio} for everything the cache holds at the end of the prompt
 * and once generation has begun: unless the cache was frozen before the prompt ended (the context protocol), the
 * full-precision staging block that generation fills ({@code window + block} rows at the window's precision) is counted
 * from the start, so that the first generated tokens do not push the cache above its target (with 16 staged fp16 rows
 * against a 17x budget of an 870-token prompt, they would take it from 17.0x to 13.1x until rows age).
 *
 * <p>Under a memory budget ({@link CompressedKvCache#memoryTarget()}) the target is also at most what the budget
 * leaves, and a prompt too large to stage whole is compressed in pieces: the planner runs again for each piece and
 * for the prompt's end, counting what the earlier pieces hold and the room the heads keep to stage the next piece.
 */
final class BudgetPlanner {

    private final CompressedKvCache cache;
    private final KvCompression cfg;
    private final KvLayout layout;
    private final int dim;
    private final int group;

    BudgetPlanner(CompressedKvCache cache) {
        this.cache = cache;
        this.cfg = cache.config();
        this.layout = cache.kvLayout();
        this.dim = layout.headDim();
        this.group = layout.groupSize();
    }

    /** Bytes of a position set of {@code n} ascending positions spanning at most {@code span} (as PositionSet counts). */
    static long positionBytes(int n, long span) {
        if (n <= 0) return 0;
        long bitmap = 8L * ((span + 63) / 64);
        return 12 + Math.min(bitmap, Math.min(2L * (n - 1), 4L * n));
    }

    void plan() {
        HeadState[][] heads = cache.headStates();
        BitAllocation codecs = cache.bitAllocation();
        int layers = layout.layers(), kvHeads = layout.kvHeads();
        VectorCompressor[] kcs = codecs.allocatorKeys();
        VectorCompressor[] vcs = codecs.allocatorValues();
        long target = (long) Math.floor(cache.seenTokens() * (double) layout.fp16BytesPerToken() / cfg.ratio());
        long stagingRoom = 0; // a prompt coming in pieces: the room its heads keep to stage the next piece
        // every head's rows, ranking, coded candidates and options, measured in parallel (each head on its own: the
        // same results in any order), then added up in head order
        int n = layers * kvHeads;
        HeadInput[] in = new HeadInput[n];
        long headTarget = target / ((long) layers * kvHeads);
        Parallel.run(n, i -> in[i] = head(heads[i / kvHeads][i % kvHeads], i / kvHeads, codecs, kcs, vcs, headTarget));
        long fixed = 0;
        long segments = 0; // of fixed: what the earlier pieces of a prompt coming in pieces hold
        int youngRows = n == 0 ? 0 : in[0].youngRows(); // rows young now in the first head (every head holds the same rows)
        boolean pieces = cache.promptInPieces(); // planning a piece of a prompt, or its end after pieces
        List<List<BudgetAllocator.Option>> options = new ArrayList<>();
        List<IntToLongFunction[][]> byteFns = new ArrayList<>();
        int[] oldRows = new int[n];
        int[] sinkRows = new int[n];
        long[] headFixed = new long[n];
        RowTransform[] planned = new RowTransform[n]; // each head's transform as the plan fitted it
        for (int i = 0; i < n; i++) {
            HeadInput h = in[i];
            oldRows[i] = h.old();
            sinkRows[i] = h.sinks();
            headFixed[i] = h.fixed();
            planned[i] = h.planned();
            fixed += h.fixed() + h.excess();
            segments += h.segments();
            stagingRoom += h.excess();
            pieces |= h.later();
            options.add(h.options());
            byteFns.add(h.byteFns());
        }
        if (cache.promptInPieces()) {
            // a piece of a prompt that comes in pieces: the room kept to stage the next piece comes on top; and when
            // the prompt's length is known, the old rows seen so far get their share of what the whole prompt's
            // target leaves the old rows (the young rows, window and transform do not grow with the prompt), where
            // the seen tokens' share of the target would let the young rows crowd them out in an early piece
            long hint = cache.promptHint(), seen = cache.seenTokens();
            if (hint > seen && hint > youngRows) {
                long others = fixed - segments - stagingRoom; // the young rows, the window, the transform, the counts
                long whole = (long) Math.floor(hint * (double) layout.fp16BytesPerToken() / cfg.ratio());
                double share = Math.max(0, seen - youngRows) / (double) (hint - youngRows);
                target = others + (long) Math.floor(Math.max(0, whole - others) * share);
            }
            target += stagingRoom;
        }
        if (cache.memoryTarget()) target = Math.min(target, cache.memoryRoom());
        long budget = target - fixed;
        BudgetAllocator.Option[] chosen = BudgetAllocator.choose(options, oldRows, budget,
                (i, o) -> byteFns.get(i)[o.keyCodec()][o.valueCodec()].applyAsLong(o.keep()));
        // each head's share of the target, for generation: what it holds now, scaled down when the prompt was too
        // short for the target (young rows and the window alone above it), so that aging brings the ratio back
        long total = 0;
        for (int i = 0; i < chosen.length; i++) total += headFixed[i] + chosen[i].bytes();
        // (a piece of a prompt may have no old rows to spend the target on: its heads get their share of it all the
        // same, for the rows that age later)
        long planTarget = target - stagingRoom;
        double scale = total > planTarget || (pieces && total > 0) ? (double) Math.max(0, planTarget) / total : 1.0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                int i = l * kvHeads + h;
                BudgetAllocator.Option o = chosen[i];
                heads[l][h].plan = new HeadPlan(l, h, Math.max(o.keep(), sinkRows[i]), oldRows[i],
                        BudgetAllocator.keyCodecs(cfg)[o.keyCodec()], BudgetAllocator.VALUE_CODECS[o.valueCodec()],
                        kcs[o.keyCodec()], vcs[o.valueCodec()], planned[i].keyCodec(kcs[o.keyCodec()]),
                        planned[i].valueCodec(vcs[o.valueCodec()]), o.bytes(), o.error(),
                        (long) Math.floor((headFixed[i] + o.bytes()) * scale), cache.seenTokens());
            }
        }
        cache.plansChanged();
    }

    /** What the plan needs of one head, measured on the head alone (several heads at once in {@link #plan}). */
    private record HeadInput(int old, int sinks, int youngRows, long fixed, long excess, long segments,
                             boolean later, RowTransform planned, List<BudgetAllocator.Option> options,
                             IntToLongFunction[][] byteFns) {
    }

    /**
     * One head's part of the plan: its transform fitted as its first compression will fit it, the bytes the plan does
     * not decide about ({@code fixed}: window, transform, young rows, earlier pieces, the attention-mass accumulator;
     * {@code excess}: the room kept to stage a prompt's next piece, apart), its old rows ranked, and its options.
     */
    private HeadInput head(HeadState hd, int l, BitAllocation codecs, VectorCompressor[] kcs, VectorCompressor[] vcs,
                           long headTarget) {
        int rows = hd.window.count();
        int cand = Math.max(0, rows - cfg.window());
        int newest = rows == 0 ? 0 : hd.window.position(rows - 1);
        int old = cand;
        if (codecs.aging()) {
            old = 0;
            while (old < cand && hd.window.position(old) < newest - cfg.ageAfter()) old++;
        }
        // the head's transform, fitted as its first compression will fit it
        float[] k = hd.windowKeys(rows, dim);
        float[] v = new float[rows * dim];
        hd.window.values(0, rows, v, 0);
        int[] pos = hd.windowPositions(rows);
        // a later piece of a prompt compressed as it comes is priced with the transform already fitted
        boolean later = !hd.segments.isEmpty();
        RowTransform t = later ? hd.transform : hd.transform.unfitted();
        float[] kd = Arrays.copyOf(k, Math.max(1, cand) * dim);
        t.toKeyDomain(kd, cand, pos);
        PromptQueryRing ring = hd.hasPromptQueries() ? hd.promptQueries : null;
        VectorCompressor ky = codecs.keys(l), vy = codecs.values(l);
        if (!later) {
            t.fit(kd, Arrays.copyOf(v, Math.max(1, cand) * dim), cand, ring == null ? null : ring.toFloats(),
                    ring == null ? 0 : ring.held() * group, kltRowBudget(ky, vy, kcs, vcs, old < cand),
                    kltRows(headTarget, hd.window.bytesFor(rows - cand), old, cand - old, ky, vy, kcs, vcs));
        }
        if (!later && (cfg.kltKeys() || cfg.kltValues())) {
            // the prompt bases' bytes are counted here, beside the rows; the first compression codes with them
            t.chargeBasesApart();
            hd.transform.adoptPlanned(t);
        }
        long fixed = 0;
        int staged = cache.frozen() ? rows - cand : Math.max(rows - cand, cfg.window() + cfg.block());
        long window = hd.window.bytesFor(staged);
        // a prompt coming in pieces: the head keeps its staging room until the prompt's end
        long excess = 0;
        if (cache.promptInPieces() && hd.window.bytes() > window) {
            excess = hd.window.bytes() - window;
            window = hd.window.bytes();
        }
        fixed += window + t.bytes() + hd.segments.bytes(); // (segments: the pieces already compressed)
        // young rows: kept whole at the young codecs, in blocks, each with its attention-mass accumulator
        // (with rot=klt the codecs are the head's rates by variance in the same bytes per row)
        ky = t.keyCodec(ky);
        vy = t.valueCodec(vy);
        for (int from = old; from < cand; from += cfg.block()) {
            int nb = Math.min(cfg.block(), cand - from);
            long b = CodedRows.bytesFor(ky, nb) + CodedRows.bytesFor(vy, nb)
                    + positionBytes(nb, pos[from + nb - 1] - pos[from] + 1) + (cache.tracksYoungMass() ? 8L * nb : 0);
            fixed += b;
        }
        if (hd.received != null) {
            fixed += hd.received.bytes();
        } else if (!cache.frozen() && cfg.eviction().recordsAttention(true)) {
            fixed += 8L * staged; // the staged rows' attention-mass accumulator, made at the window's capacity
        }
        // ranking of the old rows: sinks first, then by the eviction policy's score (ties to the later row)
        EvictionPolicy ev = cfg.eviction();
        int sinks = 0;
        while (sinks < old && pos[sinks] < Math.max(ev.sinks(), cfg.pin())) sinks++;
        float[] score = old > 0 ? ev.scores(cache.new HeadCandidates(hd, old, true, true)) : new float[0];
        Integer[] order = new Integer[old - sinks];
        for (int r = 0; r < order.length; r++) order[r] = sinks + r;
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Float.compare(score[b], score[a]) : Integer.compare(b, a));
        int[] rank = new int[old];
        for (int r = 0; r < sinks; r++) rank[r] = r;
        for (int r = 0; r < order.length; r++) rank[sinks + r] = order[r];
        // coded candidates, read back to the appended domain
        float[][] keyDec = new float[kcs.length][];
        float[][] valueDec = new float[vcs.length][];
        for (int c = 0; c < kcs.length; c++) keyDec[c] = roundTrip(t, t.keyCodec(kcs[c]), kd, pos, 0, old, true);
        for (int c = 0; c < vcs.length; c++) valueDec[c] = roundTrip(t, t.valueCodec(vcs[c]), v, pos, 0, old, false);
        float[] youngK = roundTrip(t, ky, kd, pos, old, cand - old, true);
        float[] youngV = roundTrip(t, vy, v, pos, old, cand - old, false);
        long span = old == 0 ? 0 : pos[old - 1] - pos[0] + 1;
        IntToLongFunction[][] fns = new IntToLongFunction[kcs.length][vcs.length];
        for (int c = 0; c < kcs.length; c++) {
            for (int e = 0; e < vcs.length; e++) {
                VectorCompressor kc = t.keyCodec(kcs[c]), vc = t.valueCodec(vcs[e]);
                fns[c][e] = n -> n == 0 ? 0 : CodedRows.bytesFor(kc, n) + CodedRows.bytesFor(vc, n) + positionBytes(n, span);
            }
        }
        float[] queries = ring == null ? new float[0] : ring.toFloats();
        int nq = ring == null ? 0 : ring.held();
        // the ring in time order: slot (recorded - held + j) % slots is the j-th oldest held query
        float[] qs = new float[nq * group * dim];
        int[] qpos = new int[nq];
        for (int j = 0; j < nq; j++) {
            int slot = (ring.recorded - nq + j) % ring.slots();
            System.arraycopy(queries, slot * group * dim, qs, j * group * dim, group * dim);
            qpos[j] = ring.positions[slot];
        }
        List<BudgetAllocator.Option> options = BudgetAllocator.measure(new BudgetAllocator.HeadData(dim, group, rows, k, v,
                pos, old, cand, rank, sinks, keyDec, valueDec, youngK, youngV, qs, qpos, nq, fns), cfg.planQueries(), cache.kernels());
        return new HeadInput(old, sinks, cand - old, fixed - excess, excess, hd.segments.bytes(), later, t, options, fns);
    }

    /**
     * With {@code rot=klt}, the bytes per row (keys, values) a prompt basis is fitted for: its rank is chosen by
     * reverse water-filling at the richest rate the head's rows will be coded with (the young codecs when rows age,
     * else the allocator's middle codecs), so that no row is coded in fewer directions than its rate would use.
     */
    private int[] kltRowBudget(VectorCompressor ky, VectorCompressor vy, VectorCompressor[] kcs, VectorCompressor[] vcs, boolean young) {
        if (!cfg.kltKeys() && !cfg.kltValues()) return null;
        VectorCompressor k = young ? ky : kcs[kcs.length / 2], v = young ? vy : vcs[vcs.length / 2];
        return new int[]{k.bytesPerBlock() / k.vectorsPerBlock(), v.bytesPerBlock() / v.vectorsPerBlock()};
    }

    /**
     * The rows a prompt basis is expected to serve (its cost is shared by them when its rank is chosen): the young
     * rows, and the old rows a head's even share of the target ({@code headTarget}) would hold at the allocator's
     * middle codecs after the window and the young rows.
     */
    private int kltRows(long headTarget, long windowBytes, int old, int young, VectorCompressor ky, VectorCompressor vy,
                        VectorCompressor[] kcs, VectorCompressor[] vcs) {
        long left = headTarget - windowBytes - CodedRows.bytesFor(ky, young) - CodedRows.bytesFor(vy, young);
        long perRow = Math.max(1, CodedRows.bytesFor(kcs[kcs.length / 2], 256) + CodedRows.bytesFor(vcs[vcs.length / 2], 256)) / 256 + 1;
        long oldRows = Math.max(0, Math.min(old, left / Math.max(1, perRow)));
        return (int) Math.max(1, young + oldRows);
    }

    /**
     * Rows {@code [from, from + n)} of {@code rows} ([..][dim], keys already in the key domain when {@code keys}) as
     * the cache would store them with {@code codec}, read back to the appended domain. [n][dim]
     */
    private float[] roundTrip(RowTransform t, VectorCompressor codec, float[] rows, int[] pos, int from, int n, boolean keys) {
        float[] x = Arrays.copyOfRange(rows, from * dim, (from + n) * dim);
        if (n == 0) return x;
        for (int r = 0; r < n; r++) {
            if (keys) t.keyToStorage(x, r * dim);
            else t.valueToStorage(x, r * dim);
        }
        CodedRows coded = CodedRows.encode(codec, x, 0, n);
        coded.decode(0, n, x, 0);
        for (int r = 0; r < n; r++) {
            if (keys) t.keyFromStorage(x, r * dim, pos[from + r]);
            else t.valueFromStorage(x, r * dim);
        }
        return x;
    }
}
