package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.eviction.Budget;
import dev.nexusquant.codec.eviction.Evictor;
import dev.nexusquant.codec.eviction.KeepRule;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.kv.PromptReplay;
import dev.nexusquant.kv.attention.AttentionKernels;
import dev.nexusquant.kv.eviction.AgingRows;
import dev.nexusquant.kv.eviction.Candidates;
import dev.nexusquant.kv.eviction.EvictionPolicy;
import dev.nexusquant.kv.eviction.JointCounts;
import dev.nexusquant.kv.eviction.PromptQueries;
import dev.nexusquant.kv.eviction.RowMerger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A KV cache that holds old tokens compressed and computes attention on the compressed form: the coordinator of the
 * pipeline, per (layer, KV head) ({@link HeadState}):
 * <pre>
 *   append ─▶ full-precision window ─(rows leave it)─▶ rank + evict ─▶ row transform ─▶ codecs ─▶ segments
 *                                                      (EvictionPolicy)  (RowTransform)   (BitAllocation) (SegmentStore)
 *   attend ◀─ CompressedAttention over segments and window
 * </pre>
 * While the first prompt is prefilled every row is staged in the window. At {@link #endOfPrompt()} all but the most
 * recent {@code window} rows are ranked, evicted, transformed and coded into segments. Afterwards, whenever the window
 * holds {@code window + block} rows before an append, its oldest {@code block} rows are ranked by the attention they
 * received, evicted to the same keep ratio and compressed. With aging, young segments are re-coded with fewer bits
 * (and evicted) once they are {@code ageAfter} positions old.
 *
 * <p>Threads: {@link #attend} may run concurrently for different KV heads (and query ranges); {@link #append} and
 * {@link #endOfPrompt} may not run concurrently with anything.
 */
final class CompressedKvCache implements KvCache {

    private final KvLayout layout;
    private final KvCompression spec; // the settings as given: what settings() names
    private final KvCompression cfg;  // what the cache runs: spec, or its BasisFallback without a model's bases
    private final boolean fallback;   // runs BasisFallback's Hadamard rotation in place of basis=auto
    private final String note;        // what stats() notes (BasisFallback.NOTE, a ring the budget shrank), else empty
    private final int dim;
    private final int group;
    private final MemoryAccount account;
    private final BitAllocation codecs;
    private final CompressedAttention attention;
    private final HeadState[][] heads; // [layers][kvHeads]
    private final PositionalRotation queryRope; // the model's RoPE, for policies that move queries in position; or null
    private final long windowTokenBytes; // bytes of one token's rows at the window's precision, every head counted

    private long seen;            // tokens appended to layer 0
    private int lastPosition = -1;
    private boolean prompted;     // the first prompt has been compressed
    private final ModelBasis sharedBasis; // the per-model KLT bases (basis=FILE or auto), or null
    private boolean frozen;       // freeze(): rows appended later stay in full precision, nothing is compressed again
    private boolean closed;
    private KvStats closedStats;
    private boolean promptEnding; // endOfPrompt() is compressing the first prompt's last rows
    private boolean pieceDue;     // the prompt's rows staged so far are compressed before this batch joins them
    private long planTotal = -1;  // sum of the heads' plan budgets (see headCap), -1 until counted
    private long promptHint;      // the first prompt's length in tokens, when told (expectPrompt), else 0

    CompressedKvCache(KvLayout layout, KvCompression given) {
        boolean fallback = BasisFallback.applies(given);
        if (fallback) BasisFallback.sayOnce(given);
        KvCompression cfg = fallback ? BasisFallback.hadamard(given) : given;
        this.layout = layout;
        this.spec = given;
        this.cfg = cfg;
        this.fallback = fallback;
        this.dim = layout.headDim();
        this.group = layout.groupSize();
        this.account = new MemoryAccount(cfg.memoryBudget());
        AttentionKernels ak = AttentionKernels.preferred();
        this.codecs = new BitAllocation(cfg, layout, ak.base());
        this.attention = new CompressedAttention(cfg, layout, ak, account);
        // rows not coded by a KLT basis (rot=klt:k / klt:v) share the seeded Hadamard rotation
        HeadRotation rotation = cfg.rotate() ? Transforms.hadamard(dim, cfg.seed()) : HeadRotation.IDENTITY;
        PositionalRotation rope = cfg.keyDomain() == KvCompression.KeyDomain.PRE_ROPE ? Transforms.rope(layout) : null;
        this.queryRope = layout.rope() == null ? null : rope != null ? rope : Transforms.rope(layout);
        boolean half = cfg.windowPrecision() == KvCompression.Precision.F16;
        // the prompt's last queries: the eviction policy may vote with them, key balancing and boost measure them
        int asked = cfg.eviction().observationWindow();
        int wanted = asked > 0 || cfg.balanceKeys() || cfg.boost() > 0 || cfg.ratio() > 0 ? Math.max(asked > 0 ? asked : 32,
                cfg.ratio() > 0 ? cfg.planQueries() : 0) : 0;
        // under a memory budget the rings take at most their share of it (PromptQueryRing.BUDGET_SHARE)
        int observation = wanted == 0 ? 0 : PromptQueryRing.slots(wanted, BudgetAllocator.QUERIES, cfg.memoryBudget(),
                layout.layers() * layout.kvHeads(), group, dim);
        this.heads = new HeadState[layout.layers()][layout.kvHeads()];
        ModelBasis shared = null;
        if (cfg.kltBasis() != null) { // basis=FILE, or auto resolved for a model (unresolved: fallen back above)
            shared = ModelBasis.load(cfg.basisFileToLoad());
            shared.check(layout, rope != null);
        }
        this.sharedBasis = shared;
        for (int l = 0; l < heads.length; l++) {
            HeadState[] row = heads[l];
            for (int h = 0; h < row.length; h++) {
                HeadState hd = new HeadState(new RowWindow(dim, half), new SegmentStore(dim, account),
                        new RowTransform(cfg, dim, rotation, rope, layout.rope(),
                                shared == null ? null : shared.keys(l, h), shared == null ? null : shared.values(l, h)));
                if (observation > 0) {
                    hd.promptQueries = new PromptQueryRing(observation, group, dim);
                    account.add(hd.promptQueries.bytes());
                }
                row[h] = hd;
            }
        }
        this.windowTokenBytes = (long) layout.layers() * layout.kvHeads() * heads[0][0].window.bytesFor(1);
        this.note = note(fallback, wanted, observation);
        account.check(0);
    }

    /**
     * Whether the memory budget is a target the allocator spends (a ratio target and a memory budget): the prompt is
     * compressed as it comes once what the cache holds with its staged rows would pass three quarters of the budget
     * (or the staging limit), each piece planned against
     * what the cache already holds, and rows that age are cut to keep every head within its share of the budget, so
     * the cache never holds more than the budget (the ratio rises above the target instead). Without a ratio target
     * the budget is a hard limit only ({@link KvMemoryExceededException}).
     */
    boolean memoryTarget() {
        return cfg.memoryBudget() > 0 && cfg.ratio() > 0;
    }

    /**
     * Bytes the heads may hold under a memory target: the budget less a 1/64 margin and the prompt's observation
     * queries while they are held (the room a head keeps to stage the prompt's next piece is its own, see
     * {@link BudgetPlanner}).
     */
    long memoryRoom() {
        long rings = 0;
        for (HeadState[] row : heads) {
            for (HeadState hd : row) if (hd.promptQueries != null) rings += hd.promptQueries.bytes();
        }
        return Math.max(0, cfg.memoryBudget() - cfg.memoryBudget() / 64 - rings);
    }

    /**
     * Whether a piece of the first prompt is being planned under a ratio target (its last piece not yet arrived): a
     * prompt past the staging limit or, under a memory target, past three quarters of the budget is compressed in
     * pieces, each planned against what the cache already holds.
     */
    boolean promptInPieces() {
        return cfg.ratio() > 0 && !prompted && !promptEnding;
    }

    @Override
    public void expectPrompt(long tokens) {
        if (!prompted && !promptEnding && tokens > promptHint) promptHint = tokens;
    }

    /** The first prompt's length in tokens as told by {@link #expectPrompt}, or 0. */
    long promptHint() {
        return promptHint;
    }

    /**
     * The most a head may hold under a memory target: its plan's share of {@link #memoryRoom()} (the plans' budgets
     * in proportion); unbounded without one.
     */
    long headCap(HeadPlan plan) {
        if (!memoryTarget()) return Long.MAX_VALUE;
        if (planTotal < 0) {
            long t = 0;
            for (HeadState[] row : heads) for (HeadState hd : row) if (hd.plan != null) t += hd.plan.budget();
            planTotal = t;
        }
        return planTotal == 0 ? 0 : (long) Math.floor(plan.budget() * (double) memoryRoom() / planTotal);
    }

    /** The plans changed (BudgetPlanner): their budgets are summed again when a cap is next asked for. */
    void plansChanged() {
        planTotal = -1;
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Saved state (see CacheState)
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public String stateType() {
        return CacheState.TYPE;
    }

    @Override
    public String settings() {
        return KvSpec.format(spec);
    }

    /** Whether this cache runs the Hadamard rotation in place of {@code basis=auto}'s bases ({@link BasisFallback}). */
    boolean basisFallback() {
        return fallback;
    }

    /** What stats() notes: the basis fallback, and prompt query rings smaller than asked for under a memory budget. */
    private static String note(boolean fallback, int wanted, int observation) {
        String ring = observation < wanted ? "the memory budget holds " + observation + " of the prompt's last " + wanted
                + " queries per head for ranking (obs)" : "";
        if (!fallback) return ring;
        return ring.isEmpty() ? BasisFallback.NOTE : BasisFallback.NOTE + "; " + ring;
    }

    @Override
    public void writeState(dev.nexusquant.codec.state.StateOutput out) {
        ensureOpen();
        CacheState.write(this, out);
    }

    /** The per-model KLT bases every head shares ({@code basis=FILE} or {@code auto}), or null. */
    ModelBasis sharedBasis() {
        return sharedBasis;
    }

    HeadState head(int layer, int kvHead) {
        return heads[layer][kvHead];
    }

    BitAllocation codecs() {
        return codecs;
    }

    MemoryAccount account() {
        return account;
    }

    int lastPosition() {
        return lastPosition;
    }

    boolean prompted() {
        return prompted;
    }

    /** Sets the counters of a saved state and recounts the bytes held from every array. */
    void restoreCounters(long seen, int lastPosition, boolean prompted) {
        this.seen = seen;
        this.lastPosition = lastPosition;
        this.prompted = prompted;
        account.tokensSeen(seen);
        account.clear();
        long accumulators = 0, arrays = 0;
        for (HeadState[] row : heads) {
            for (HeadState hd : row) {
                arrays += hd.window.bytes() + hd.transform.bytes();
                if (hd.promptQueries != null) arrays += hd.promptQueries.bytes();
                if (hd.received != null) accumulators += hd.received.bytes();
                for (Segment sg : hd.segments.list()) {
                    arrays += sg.bytes();
                    if (sg.mass() != null) accumulators += sg.mass().bytes();
                }
            }
        }
        account.add(arrays);
        account.addAccumulators(accumulators);
    }

    /**
     * The configuration this cache runs: the one it was built from, or with {@code basis=auto} and no model its
     * {@link BasisFallback} (see {@link #settings()} for the settings as given).
     */
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
        if (layer == 0 && !prompted) pieceDue = pieceDue(n);
        for (int h = 0; h < layout.kvHeads(); h++) {
            HeadState hd = heads[layer][h];
            if (frozen && prompted) {
                // frozen: the window only grows
            } else if (prompted) {
                // generation (or a later turn): blocks that leave the recent window are compressed
                while (hd.window.count() >= cfg.window() + cfg.block()) {
                    compress(layer, hd, cfg.block(), false);
                }
                if (codecs.aging()) ageRows(layer, hd, positions[0]);
            } else if (pieceDue && hd.window.count() > cfg.window()) {
                // a prompt longer than the staging limit is compressed as it comes; under a memory target each piece
                // is planned against what the cache holds (every layer holds the same rows when layer 0 arrives),
                // and its rows age as generation's would, so that the cache stays within the budget
                if (cfg.ratio() > 0 && layer == 0 && h == 0 && codecs.allocated()) new BudgetPlanner(this).plan();
                compress(layer, hd, hd.window.count() - cfg.window(), true);
                if (cfg.ratio() > 0 && codecs.aging()) ageRows(layer, hd, positions[0]);
            }
            growWindow(hd, hd.window.count() + n);
            for (int i = 0; i < n; i++) {
                hd.window.add(positions[i], keys, i * kvDim + h * dim, values, i * kvDim + h * dim);
            }
        }
        if (layer == 0) {
            seen += n;
            lastPosition = positions[n - 1];
            account.tokensSeen(seen);
        }
    }

    /**
     * Whether the prompt's staged rows are compressed before the next {@code n} tokens join them (decided at layer 0,
     * where every layer holds the same rows): past the staging limit, or under a memory target once the cache would
     * hold more than three quarters of its budget with them.
     */
    private boolean pieceDue(int n) {
        int staged = heads[0][0].window.count();
        if (!memoryTarget()) return staged + n > cfg.stagingLimit();
        long windows = 0;
        for (HeadState[] row : heads) for (HeadState hd : row) windows += hd.window.bytes();
        return staged + n > cfg.stagingLimit()
                || account.held() - windows + (staged + n) * windowTokenBytes > cfg.memoryBudget() / 4 * 3;
    }

    /**
     * Rows of a head's young segments that are now older than the aging distance take the aged codecs, cut to what
     * the head's plan allows (or the policy's share without a plan); {@code firstNew}: the position of the first row
     * being appended.
     */
    private void ageRows(int layer, HeadState hd, int firstNew) {
        // the newest row held: the window's, or (window=0, all compressed) the one before this append
        int newestHeld = hd.window.count() > 0 ? hd.window.position(hd.window.count() - 1) : firstNew - 1;
        int limit = newestHeld - cfg.ageAfter();
        if (hd.plan != null) {
            HeadPlan pl = hd.plan;
            // while a prompt comes in pieces, the rows staged for the next piece and the prompt's observation queries
            // are held only until the prompt ends: they count against the head's share of a memory budget, not
            // against the ratio the rows that age now are cut to (else the staged piece, in full precision, leaves
            // them no room at all)
            long held = prompted ? 0 : hd.window.bytes() + (hd.promptQueries == null ? 0 : hd.promptQueries.bytes());
            long cap = headCap(pl);
            // (while the prompt comes, layers after the first age rows after layer 0 has counted the batch being
            // appended: the piece's plan is for the tokens seen before it)
            long at = prompted ? seen : Math.min(seen, pl.tokens());
            boolean all = cfg.eviction().keepsEveryRow();
            hd.segments.age(limit, (rows, seg, positionBytes) -> all ? rows : pl.keepCount(rows, positionBytes, at,
                            headBytes(hd) - seg.bytes() - (seg.mass() == null ? 0 : seg.mass().bytes()) - held,
                            cap == Long.MAX_VALUE ? cap : cap - held),
                    hd.transform.keyCodec(pl.keyCodec()), hd.transform.valueCodec(pl.valueCodec()), cfg.eviction().sinks(),
                    new PolicyAging(layer, hd, newestHeld),
                    evictAtAging() && !cfg.eviction().agingAttention(), cfg.ageTail());
        } else {
            hd.segments.age(limit, (rows, seg, positionBytes) -> cfg.eviction().keepsEveryRow() ? rows : cfg.eviction().keepCount(rows), hd.transform.keyCodec(codecs.agedKeys(layer)),
                    hd.transform.valueCodec(codecs.agedValues(layer)), 0,
                    new PolicyAging(layer, hd, newestHeld),
                    evictAtAging() && !cfg.eviction().agingAttention(), cfg.ageTail());
        }
    }

    /** The eviction policy's ranking of a head's rows that age now, told where they are. */
    private final class PolicyAging implements SegmentStore.AgingScores {
        private final int layer;
        private final HeadState hd;
        private final int newest;

        PolicyAging(int layer, HeadState hd, int newest) {
            this.layer = layer;
            this.hd = hd;
            this.newest = newest;
        }

        @Override
        public float[] scores(float[] received, float[] values, int n) {
            return cfg.eviction().agingScores(received, values, n, dim);
        }

        @Override
        public float[] scores(float[] received, float[] values, int[] positions, int n) {
            return cfg.eviction().agingScores(new AgingRows(layer, headIndex(layer, hd), positions, n, newest, received, values, dim));
        }
    }

    /** The KV head index of {@code hd} in layer {@code layer}. */
    private int headIndex(int layer, HeadState hd) {
        for (int h = 0; h < heads[layer].length; h++) if (heads[layer][h] == hd) return h;
        throw new IllegalStateException("head state not in layer " + layer);
    }

    /** The layer of {@code hd}. */
    private int layerOf(HeadState hd) {
        for (int l = 0; l < heads.length; l++) for (HeadState x : heads[l]) if (x == hd) return l;
        throw new IllegalStateException("head state not in this cache");
    }

    @Override
    public void endOfPrompt() {
        ensureOpen();
        boolean joint = !prompted && cfg.eviction().drops() && cfg.eviction().jointFloor() >= 0;
        promptEnding = !prompted;
        // a prompt compressed in pieces under a memory target: the earlier pieces' young rows that are old now age
        // (under the last piece's plan), and the last piece is planned against what the rest holds
        boolean pieces = cfg.ratio() > 0 && !prompted && codecs.allocated();
        if (pieces) {
            if (codecs.aging()) {
                for (int l = 0; l < layout.layers(); l++) {
                    for (HeadState hd : heads[l]) ageRows(l, hd, lastPosition + 1);
                }
            }
            new BudgetPlanner(this).plan();
        }
        for (int l = 0; l < layout.layers(); l++) {
            if (joint) poolAcrossHeads(l);
            for (HeadState hd : heads[l]) {
                int candidates = hd.window.count() - cfg.window();
                if (candidates > 0) compress(l, hd, candidates, !prompted);
                if (hd.promptQueries != null) { // the prompt's queries served the first prompt; free them
                    account.add(-hd.promptQueries.bytes());
                    hd.promptQueries = null;
                }
                // with a ratio target the block's room is taken when generation needs it, not held in advance
                int keep = cfg.ratio() > 0 ? hd.window.count() : cfg.window() + cfg.block();
                if (hd.window.capacity() > keep) {
                    long before = hd.window.bytes();
                    hd.window.trimTo(keep);
                    account.add(hd.window.bytes() - before);
                }
            }
        }
        prompted = true;
        promptEnding = false;
    }

    /**
     * The pipeline for the oldest {@code candidates} rows of a head's window: rank and drop what the eviction policy
     * drops, transform the rest to their stored form and code them into segments (the pinned first positions in fp16,
     * rows already old with the aged codecs, the rest in blocks that age).
     *
     * @param firstPrompt rank with the prompt's own queries rather than the attention the rows received
     */
    private void compress(int layer, HeadState hd, int candidates, boolean firstPrompt) {
        ensureAllocated();
        HeadPlan plan = hd.plan;
        RowWindow w = hd.window;
        int newest = w.position(w.count() - 1);

        // 1-2. importance and eviction
        Selection sel = keptRows(hd, candidates, newest, firstPrompt);
        int[] keep = sel.keep();
        int kept = keep.length;

        // 3. the candidates in the key domain (RoPE undone for keys=pre); the transform is fitted on the first ones
        float[] k = new float[Math.max(1, candidates) * dim]; // [candidates][dim]
        float[] v = new float[Math.max(1, candidates) * dim];
        w.keys(0, candidates, k, 0);
        w.values(0, candidates, v, 0);
        double mergeAt = cfg.eviction().mergeThreshold();
        if (mergeAt <= 1 && sel.scores() != null) {
            // dropped rows among the ranked ones fold their values into the kept rows with the most similar keys
            int ranked = sel.ranked();
            int keptRanked = 0;
            while (keptRanked < kept && keep[keptRanked] < ranked) keptRanked++;
            RowMerger.merge(k, v, ranked, dim, Arrays.copyOf(keep, keptRanked), sel.scores(), mergeAt);
        }
        int[] pos = hd.windowPositions(candidates);
        RowTransform t = hd.transform;
        t.toKeyDomain(k, candidates, pos);
        PromptQueryRing ring = hd.hasPromptQueries() ? hd.promptQueries : null;
        int[] rowBudget = cfg.kltKeys() || cfg.kltValues() ? new int[]{
                (plan != null ? plan.keyCodec() : codecs.keys(layer)).bytesPerBlock(),
                (plan != null ? plan.valueCodec() : codecs.values(layer)).bytesPerBlock()} : null;
        long fitted = t.fit(k, v, candidates, ring == null ? null : ring.toFloats(), ring == null ? 0 : ring.held() * group,
                rowBudget, kept);
        account.check(fitted); // the means (or bases) fitted now count against a memory budget like rows do
        account.add(fitted);

        if (kept > 0) {
            // 4. the kept rows in their stored form: centred, balanced, rotated; [kept][dim]
            float[] kk = new float[kept * dim];
            float[] vv = new float[kept * dim];
            int[] kp = new int[kept];
            for (int i = 0; i < kept; i++) {
                int r = keep[i];
                System.arraycopy(k, r * dim, kk, i * dim, dim);
                System.arraycopy(v, r * dim, vv, i * dim, dim);
                kp[i] = pos[r];
                t.keyToStorage(kk, i * dim);
                t.valueToStorage(vv, i * dim);
            }
            // 5. codes: the first `pin` positions (attention sinks) in fp16, rows already older than the aging
            //    distance straight to the aged codecs, the rest in blocks that age
            int pinned = 0;
            while (pinned < kept && kp[pinned] < cfg.pin()) pinned++;
            SegmentStore store = hd.segments;
            if (pinned > 0) store.add(kp, kk, vv, 0, pinned, codecs.pinned(), codecs.pinned(), true, false);
            int old = pinned;
            if (codecs.aging()) {
                while (old < kept && kp[old] < newest - cfg.ageAfter()) old++;
                if (old > pinned) {
                    store.add(kp, kk, vv, pinned, old - pinned, t.keyCodec(plan != null ? plan.keyCodec() : codecs.agedKeys(layer)),
                            t.valueCodec(plan != null ? plan.valueCodec() : codecs.agedValues(layer)), true, false);
                }
            }
            int step = codecs.aging() ? cfg.block() : kept - old;
            boolean planned = plan != null && !codecs.aging(); // without aging the plan's codecs code every row
            for (int from = old; from < kept; from += Math.max(1, step)) {
                store.add(kp, kk, vv, from, Math.min(step, kept - from), t.keyCodec(planned ? plan.keyCodec() : codecs.keys(layer)),
                        t.valueCodec(planned ? plan.valueCodec() : codecs.values(layer)), false, tracksYoungMass());
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
     * The rows to keep among the window's oldest candidates.
     *
     * @param keep   ascending indices into the candidates
     * @param scores [ranked] the policy's scores of the rows it ranked, or null when it ranked none
     * @param ranked the rows ranked: the first {@code ranked} candidates (the rest are kept unranked)
     */
    private record Selection(int[] keep, float[] scores, int ranked) {
    }

    /** Runs the codecs' allocation (and the byte-budget plan) once, before anything is compressed. */
    private void ensureAllocated() {
        if (!codecs.allocated()) {
            codecs.allocate(heads);
            if (cfg.ratio() > 0) new BudgetPlanner(this).plan();
        }
    }

    /** Rows the eviction policy ranks now among a head's oldest {@code candidates} window rows (see keptRows). */
    private int rankedRows(HeadState hd, int candidates, int newest) {
        if (!evictAtAging()) return candidates;
        int oldCount = 0;
        while (oldCount < candidates && hd.window.position(oldCount) < newest - cfg.ageAfter()) oldCount++;
        return oldCount;
    }

    /** Indices (ascending, into the window's oldest {@code candidates} rows) of the rows to keep. */
    private Selection keptRows(HeadState hd, int candidates, int newest, boolean firstPrompt) {
        // with aging, only rows already older than the aging distance are ranked and dropped now; younger ones are
        // all kept (coded) and ranked when they age, by the attention they received meanwhile
        int oldCount = rankedRows(hd, candidates, newest);
        Selection old = selectKept(hd, oldCount, firstPrompt);
        if (oldCount == candidates) return old;
        int[] keepOld = old.keep();
        int[] keep = Arrays.copyOf(keepOld, keepOld.length + candidates - oldCount);
        for (int i = oldCount; i < candidates; i++) keep[keepOld.length + i - oldCount] = i;
        return new Selection(keep, old.scores(), oldCount);
    }

    /** The eviction policy's choice among the window's oldest {@code candidates} rows, sinks always kept. */
    private Selection selectKept(HeadState hd, int candidates, boolean firstPrompt) {
        EvictionPolicy ev = cfg.eviction();
        if (!ev.drops()) {
            int[] all = new int[candidates];
            for (int i = 0; i < candidates; i++) all[i] = i;
            return new Selection(all, null, candidates);
        }
        float[] score = ev.scores(new HeadCandidates(hd, candidates, firstPrompt));
        int sinks = sinkRows(hd, candidates);
        int keep;
        if (firstPrompt && hd.jointKeep >= 0) {
            keep = Math.max(sinks, hd.jointKeep); // pooled across the layer's heads (AdaKV)
            hd.jointKeep = -1;
        } else {
            keep = Math.max(sinks, shareOf(hd, candidates, firstPrompt));
        }
        return new Selection(Evictor.select(score, candidates, new KeepRule(sinks, 0, Budget.tokens(keep))), score, candidates);
    }

    /** Rows at the start of a head's window that are always kept (attention sinks, pinned positions). */
    private int sinkRows(HeadState hd, int candidates) {
        int sinks = 0;
        while (sinks < candidates && hd.window.position(sinks) < Math.max(cfg.eviction().sinks(), cfg.pin())) sinks++;
        return sinks;
    }

    /** Rows a head keeps alone out of its oldest {@code candidates} (its plan's, or the policy's share). */
    private int shareOf(HeadState hd, int candidates, boolean firstPrompt) {
        HeadPlan plan = hd.plan;
        if (cfg.eviction().keepsEveryRow()) return candidates;
        return plan == null ? cfg.eviction().keepCount(candidates)
                : firstPrompt && candidates == plan.oldRows() ? plan.keep() : plan.keepCount(candidates);
    }

    /**
     * AdaKV at the end of the first prompt: the heads of layer {@code l} pool the rows they would keep and choose
     * them together by per-head normalised scores ({@link JointCounts}); each head's count waits in
     * {@link HeadState#jointKeep} for its compression. With a byte budget a row costs its head's planned codecs.
     */
    private void poolAcrossHeads(int l) {
        ensureAllocated();
        EvictionPolicy ev = cfg.eviction();
        HeadState[] hs = heads[l];
        float[][] scores = new float[hs.length][];
        int[] sinks = new int[hs.length], shares = new int[hs.length];
        double[] cost = new double[hs.length];
        for (int h = 0; h < hs.length; h++) {
            HeadState hd = hs[h];
            int candidates = hd.window.count() - cfg.window();
            if (candidates <= 0) {
                scores[h] = new float[0];
                cost[h] = 1;
                continue;
            }
            int newest = hd.window.position(hd.window.count() - 1);
            int ranked = rankedRows(hd, candidates, newest);
            scores[h] = Arrays.copyOf(ev.scores(new HeadCandidates(hd, ranked, true)), ranked);
            sinks[h] = sinkRows(hd, ranked);
            shares[h] = Math.max(sinks[h], shareOf(hd, ranked, true));
            HeadPlan plan = hd.plan;
            cost[h] = plan == null ? 1 : (CodedRows.bytesFor(plan.storedKey(), 256) + CodedRows.bytesFor(plan.storedValue(), 256)) / 256.0;
        }
        int[] counts = JointCounts.counts(scores, sinks, shares, cost, ev.jointFloor());
        for (int h = 0; h < hs.length; h++) hs[h].jointKeep = scores[h].length == 0 ? -1 : counts[h];
    }

    /** What a head knows about its oldest window rows, for the eviction policy. */
    final class HeadCandidates implements Candidates {
        private final HeadState hd;
        private final int count;
        private final boolean atPromptEnd;
        private final boolean planning;

        HeadCandidates(HeadState hd, int count, boolean atPromptEnd) {
            this(hd, count, atPromptEnd, false);
        }

        HeadCandidates(HeadState hd, int count, boolean atPromptEnd, boolean planning) {
            this.hd = hd;
            this.count = count;
            this.atPromptEnd = atPromptEnd;
            this.planning = planning;
        }

        @Override
        public boolean planning() {
            return planning;
        }

        @Override
        public int count() {
            return count;
        }

        @Override
        public boolean atPromptEnd() {
            return atPromptEnd;
        }

        @Override
        public float[] attentionSums() {
            return hd.received == null ? null : hd.received.scores();
        }

        @Override
        public float[] attentionMeans() {
            return hd.received == null ? null : hd.received.normalizedScores();
        }

        @Override
        public int dim() {
            return dim;
        }

        @Override
        public float[] values() {
            float[] v = new float[count * dim];
            hd.window.values(0, count, v, 0);
            return v;
        }

        @Override
        public PositionalRotation rope() {
            return queryRope;
        }

        @Override
        public int layer() {
            return layerOf(hd);
        }

        @Override
        public int head() {
            return headIndex(layerOf(hd), hd);
        }

        @Override
        public int[] positions() {
            return hd.windowPositions(count);
        }

        @Override
        public int newest() {
            return hd.window.count() == 0 ? -1 : hd.window.position(hd.window.count() - 1);
        }

        @Override
        public PromptQueries promptQueries() {
            if (!hd.hasPromptQueries()) return null;
            PromptQueryRing ring = hd.promptQueries;
            int rows = hd.window.count();
            return new PromptQueries(ring.toFloats(), ring.allPositions(), ring.recorded, hd.windowKeys(rows, dim),
                    hd.windowPositions(rows), rows, group, dim);
        }
    }

    /** With aging configured, dropping happens when rows age (not when they leave the full-precision window). */
    boolean evictAtAging() {
        return codecs.aging() && cfg.eviction().drops();
    }

    /** Young segments record the attention their rows receive (the policy ranks aging rows by it). */
    boolean tracksYoungMass() {
        return evictAtAging() && cfg.eviction().agingAttention();
    }

    private void growWindow(HeadState hd, int needed) {
        RowWindow w = hd.window;
        if (needed <= w.capacity()) return;
        int cap = Math.max(needed, Math.max(cfg.window() + cfg.block(), w.capacity() + (w.capacity() >> 1)));
        if (account.budget() > 0) {
            long room = account.budget() - account.held() + w.bytes();
            long perRow = w.bytesFor(1);
            cap = (int) Math.max(needed, Math.min(cap, room / perRow));
        }
        long delta = w.bytesFor(cap) - w.bytes();
        account.check(delta);
        w.ensureCapacity(cap);
        account.add(delta);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Attention
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
        ensureOpen();
        boolean recordMass = !(frozen && prompted) && cfg.eviction().recordsAttention(prompted);
        attention.attend(heads[layer][kvHead], kvHead, n, positions, q, out, recordMass, recordMass && tracksYoungMass());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Accounting
    // ---------------------------------------------------------------------------------------------------------

    /**
     * During the first prompt the state is the staged rows (fp16 or fp32, the window's precision) and, when an
     * observation ring is kept, the last {@code ring.slots()} queries of each attend call (in fp16); a policy that
     * records the attention rows receive during the prompt (H2O) depends on every query and cannot be replayed.
     */
    @Override
    public PromptReplay promptReplay() {
        if (cfg.eviction().recordsAttention(false)) return PromptReplay.NONE;
        int ring = 0;
        for (HeadState[] row : heads) {
            for (HeadState hd : row) if (hd != null && hd.promptQueries != null) ring = Math.max(ring, hd.promptQueries.slots());
        }
        if (prompted) return PromptReplay.NONE; // replay rebuilds first-prompt states only
        return new PromptReplay(true, ring, cfg.windowPrecision() == KvCompression.Precision.F16, true);
    }

    /** Once generation started, new tokens come at most a block at a time (see {@link KvCache#maxAppend()}). */
    @Override
    public int maxAppend() {
        if (prompted) return frozen ? Integer.MAX_VALUE : cfg.block();
        // under a memory target the prompt comes in pieces that fit its staging room
        return memoryTarget() ? (int) Math.max(1, Math.min(Integer.MAX_VALUE, cfg.memoryBudget() / 4 / windowTokenBytes)) : Integer.MAX_VALUE;
    }

    /**
     * Rows appended after the prompt stay in the full-precision window; nothing held is compressed or evicted again
     * once the prompt has ended. Called before {@link #endOfPrompt()}, the prompt is still compressed at its end, and a
     * ratio target leaves out the staging block that generation would otherwise hold (see {@link BudgetPlanner}).
     */
    @Override
    public void freeze() {
        ensureOpen();
        frozen = true;
    }

    /** Whether {@link #freeze()} was called. */
    boolean frozen() {
        return frozen;
    }

    @Override
    public String allocation() {
        StringBuilder sb = new StringBuilder();
        for (HeadState[] row : heads) {
            for (HeadState hd : row) {
                if (hd == null || hd.plan == null) continue;
                if (!sb.isEmpty()) sb.append("; ");
                sb.append(hd.plan.describe());
            }
        }
        return sb.toString();
    }

    /** The per-head plans of the budget allocator ([layers][kvHeads], null entries without one). */
    HeadPlan[][] plans() {
        HeadPlan[][] p = new HeadPlan[heads.length][];
        for (int l = 0; l < heads.length; l++) {
            p[l] = new HeadPlan[heads[l].length];
            for (int h = 0; h < heads[l].length; h++) p[l][h] = heads[l][h] == null ? null : heads[l][h].plan;
        }
        return p;
    }

    /** Every byte one head holds. */
    static long headBytes(HeadState hd) {
        long b = hd.window.bytes() + hd.segments.bytes() + hd.transform.bytes();
        if (hd.received != null) b += hd.received.bytes();
        if (hd.promptQueries != null) b += hd.promptQueries.bytes();
        return b;
    }

    // package access for BudgetPlanner
    HeadState[][] headStates() {
        return heads;
    }

    KvLayout kvLayout() {
        return layout;
    }

    /** The numeric kernels this cache computes with (vector lanes where the project's switch allows them). */
    dev.nexusquant.engine.tensor.Kernels kernels() {
        return AttentionKernels.preferred().base();
    }

    BitAllocation bitAllocation() {
        return codecs;
    }

    long seenTokens() {
        return seen;
    }

    @Override
    public long tokensSeen() {
        return seen;
    }

    @Override
    public KvStats stats() {
        if (closed) return closedStats;
        long rowsHeld = 0;
        for (HeadState[] row : heads) {
            for (HeadState hd : row) rowsHeld += hd.window.count() + hd.segments.rows();
        }
        double kept = (double) rowsHeld / ((long) layout.layers() * layout.kvHeads());
        long values = seen * layout.layers() * 2L * layout.kvDim();
        return new KvStats(seen, kept, account.held(), seen * layout.fp16BytesPerToken(), values, note);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Inspection (read-only, for tests and tools)
    // ---------------------------------------------------------------------------------------------------------

    /** One compressed segment as inspection sees it. */
    record SegmentView(int[] positions, boolean aged, VectorCompressor keyCodec, VectorCompressor valueCodec, long bytes) {
    }

    /** What one head holds: its segments (oldest first) and the positions of its full-precision window rows. */
    record HeadView(List<SegmentView> segments, int[] windowPositions) {

        /** Every position the head holds, compressed or not, ascending. */
        int[] positions() {
            int n = windowPositions.length;
            for (SegmentView s : segments) n += s.positions().length;
            int[] p = new int[n];
            int at = 0;
            for (SegmentView s : segments) {
                System.arraycopy(s.positions(), 0, p, at, s.positions().length);
                at += s.positions().length;
            }
            System.arraycopy(windowPositions, 0, p, at, windowPositions.length);
            return p;
        }
    }

    /** A read-only view of what one (layer, KV head) holds. */
    HeadView inspect(int layer, int kvHead) {
        ensureOpen();
        HeadState hd = heads[layer][kvHead];
        List<SegmentView> segs = new ArrayList<>();
        for (Segment s : hd.segments.list()) {
            int[] p = new int[s.rows()];
            s.positions().decode(0, p.length, p);
            segs.add(new SegmentView(p, s.aged(), s.keys().codec(), s.values().codec(), s.bytes()));
        }
        return new HeadView(List.copyOf(segs), hd.windowPositions(hd.window.count()));
    }

    /**
     * The keys of the window's oldest rows (all but the recent window) as the next compression would store them,
     * read back: what the bit allocation measures. [rows][dim]
     */
    float[] previewStoredKeys(int layer, int kvHead) {
        ensureOpen();
        HeadState hd = heads[layer][kvHead];
        int candidates = Math.max(0, hd.window.count() - cfg.window());
        return codecs.storedKeys(layer, hd, candidates);
    }

    /** The layers the bit allocation boosted (empty before the first compression or without boost). */
    int[] boostedLayers() {
        return codecs.boostedLayers();
    }

    /** Recomputes the bytes held from every array (tests compare it with the running total in {@link #stats()}). */
    long recountBytes() {
        long b = 0;
        for (HeadState[] row : heads) {
            for (HeadState hd : row) {
                b += hd.window.bytes() + hd.segments.bytes() + hd.transform.bytes();
                if (hd.received != null) b += hd.received.bytes();
                if (hd.promptQueries != null) b += hd.promptQueries.bytes();
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
        ensureOpen();
        HeadState hd = heads[layer][kvHead];
        int rows = hd.window.count() + hd.segments.rows();
        int[] pos = new int[rows];
        float[] k = new float[rows * dim];
        float[] v = new float[rows * dim];
        int r = 0;
        for (Segment s : hd.segments.list()) {
            int n = s.rows();
            int[] p = new int[n];
            s.positions().decode(0, n, p);
            System.arraycopy(p, 0, pos, r, n);
            s.keys().decode(0, n, k, r * dim);
            s.values().decode(0, n, v, r * dim);
            for (int i = r; i < r + n; i++) {
                hd.transform.keyFromStorage(k, i * dim, pos[i]);
                hd.transform.valueFromStorage(v, i * dim);
            }
            r += n;
        }
        int wc = hd.window.count();
        hd.window.keys(0, wc, k, r * dim);
        hd.window.values(0, wc, v, r * dim);
        for (int i = 0; i < wc; i++) pos[r + i] = hd.window.position(i);
        return new Expanded(pos, k, v);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KV cache is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closedStats = stats(); // what it held at its end stays readable
        closed = true;
        for (HeadState[] row : heads) Arrays.fill(row, null);
        account.clear();
    }
}
