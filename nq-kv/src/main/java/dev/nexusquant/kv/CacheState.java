package dev.nexusquant.kv;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.H2OAccumulator;
import dev.nexusquant.codec.klt.HouseholderBasis;
import dev.nexusquant.codec.klt.KltBasis;
import dev.nexusquant.codec.state.StateFormatException;
import dev.nexusquant.codec.state.StateInput;
import dev.nexusquant.codec.state.StateOutput;
import dev.nexusquant.engine.kv.KvLayout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.nexusquant.codec.state.StateInput.corrupt;

/**
 * The saved state of a {@link CompressedKvCache}: everything its heads hold, so that a restored cache attends, ranks,
 * evicts, compresses and ages exactly as the saved one would have. The settings (the canonical spec) travel in the
 * session header; the state is
 * <pre>
 *   u8 version 5, layers, kvHeads, headDim, tokens seen, last position, prompted,
 *   with per-model KLT bases (basis=FILE or auto): fallen back (bool: basis=auto built without a model, the
 *   Hadamard rotation instead, {@link BasisFallback}), unless fallen back their fingerprint (i64,
 *   {@link ModelBasis#fingerprint}),
 *   bit allocation (allocated, boosted layers), the codec table (descriptors the segments refer to by index),
 *   per (layer, KV head):
 *     window     capacity, count, positions (delta), keys and values (fp16 bits, or fp32 byte-shuffled)
 *     transform  key/value means, key channel scales (each present or not, [headDim] fp32); with rot=klt the key
 *                and value KLT bases (each present or not, then shared (the per-model file's) or: groups, reserve,
 *                [groups] fp32 deviations, fp16 reflectors)
 *     prompt queries (while the first prompt lasts): recorded, [slots][group * headDim] fp16, positions
 *     received attention of the window rows (an accumulator: capacity, [length] masses and counts)
 *     segments   first unaged, then each: rows, positions (delta), aged, key and value codec index, coded blocks,
 *                attention mass of young rows (an accumulator, or none)
 *     plan       only when the settings have a ratio target (ratio=R): present, then the budget allocator's plan
 *                (kept and old rows, key and value codec index among BudgetAllocator's, bytes, error, budget, tokens)
 * </pre>
 * Byte-shuffling (exponent bytes together) is applied where it was measured to pay: fp32 rows (dense fp32 on the
 * project's model: 8.8% smaller files); on E8 codes it made a BALANCED file 2.8% larger and on fp16 rows it did not
 * help, so those are stored as held. The rotation and its seed, RoPE and the codecs themselves are rebuilt from the settings; the codec table checks that
 * they code exactly as the saved ones (name, version, parameters).
 */
final class CacheState {

    static final String TYPE = "nexusquant";
    static final int VERSION = 5; // 2: fp32 window rows byte-shuffled; 3: fingerprint of the per-model KLT bases;
                                  // 4: plans of KLT keys index BudgetAllocator.KLT_KEY_CODECS; 5: basis=auto's fallback
    static final int OLDEST_READ = 2;

    private CacheState() {
    }

    static void write(CompressedKvCache c, StateOutput out) {
        KvLayout layout = c.layout();
        int dim = layout.headDim();
        out.u8(VERSION);
        out.varint(layout.layers()).varint(layout.kvHeads()).varint(dim);
        out.varint(c.tokensSeen()).svarint(c.lastPosition()).bool(c.prompted());
        if (c.sharedBasis() != null || c.basisFallback()) {
            out.bool(c.basisFallback());
            if (!c.basisFallback()) out.i64(c.sharedBasis().fingerprint());
        }
        BitAllocation codecs = c.codecs();
        out.bool(codecs.allocated());
        int[] boosted = codecs.boostedLayers();
        out.varint(boosted.length).varints(boosted, 0, boosted.length);
        // the codec table: every distinct codec of every segment
        Map<CodecDescriptor, Integer> table = new LinkedHashMap<>();
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                for (Segment s : c.head(l, h).segments.list()) {
                    table.putIfAbsent(s.keys().codec().descriptor(), table.size());
                    table.putIfAbsent(s.values().codec().descriptor(), table.size());
                }
            }
        }
        out.varint(table.size());
        for (CodecDescriptor d : table.keySet()) out.descriptor(d);
        boolean half = c.config().windowPrecision() == KvCompression.Precision.F16;
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                HeadState hd = c.head(l, h);
                writeWindow(out, hd.window, dim, half);
                RowTransform t = hd.transform;
                out.bool(t.keyMean() != null);
                if (t.keyMean() != null) out.floats(t.keyMean(), 0, dim).floats(t.valueMean(), 0, dim);
                out.bool(t.keyScale() != null);
                if (t.keyScale() != null) out.floats(t.keyScale(), 0, dim);
                if (c.config().kltKeys() || c.config().kltValues()) {
                    writeKlt(out, t.keyKlt(), t.sharedKey());
                    writeKlt(out, t.valueKlt(), t.sharedValue());
                }
                PromptQueryRing ring = hd.promptQueries;
                out.bool(ring != null);
                if (ring != null) {
                    out.varint(ring.recorded);
                    short[] q = ring.allQueries(); // every slot, as the format has it
                    out.shorts(q, 0, q.length);
                    for (int p : ring.allPositions()) out.svarint(p);
                }
                writeAccumulator(out, hd.received);
                List<Segment> segs = hd.segments.list();
                out.varint(segs.size()).varint(hd.segments.firstUnaged());
                for (Segment s : segs) {
                    int n = s.rows();
                    int[] p = new int[n];
                    s.positions().decode(0, n, p);
                    out.varint(n).positions(p, 0, n).bool(s.aged());
                    out.varint(table.get(s.keys().codec().descriptor())).varint(table.get(s.values().codec().descriptor()));
                    byte[] kb = s.keys().blocks(), vb = s.values().blocks();
                    out.raw(kb, 0, kb.length).raw(vb, 0, vb.length);
                    writeAccumulator(out, s.mass());
                }
                if (c.config().ratio() > 0) writePlan(out, hd.plan, BudgetAllocator.keyCodecs(c.config()));
            }
        }
    }

    /** A KLT basis (rot=klt): present, groups coded, reserve, [groups] fp32 deviations, fp16 reflectors. */
    private static void writeKlt(StateOutput out, KltBasis b, KltBasis shared) {
        out.bool(b != null);
        if (b == null) return;
        out.bool(b == shared); // the per-model basis: the settings name its file
        if (b == shared) return;
        float[] sigma = b.sigmas();
        short[] stored = b.stored();
        out.varint(sigma.length).varint(b.reserve()).floats(sigma, 0, sigma.length).shorts(stored, 0, stored.length);
    }

    private static KltBasis readKlt(StateInput in, String f, int dim, KltBasis shared) throws StateFormatException {
        if (!in.bool(f + ".present")) return null;
        if (in.bool(f + ".shared")) {
            if (shared == null) throw corrupt(f + ".shared", "a per-model basis, but the settings name no basis file");
            return shared;
        }
        int groups = in.varint(f + ".groups", 0, dim / 8);
        int reserve = in.varint(f + ".reserve", 0, Integer.MAX_VALUE);
        float[] sigma = in.floats(f + ".sigma", groups);
        short[] stored = new short[HouseholderBasis.storedValues(dim, 8 * groups)];
        in.shorts(f + ".reflectors", stored, 0, stored.length);
        try {
            return KltBasis.restore(dim, stored, sigma, reserve);
        } catch (IllegalArgumentException e) {
            throw corrupt(f, e.getMessage());
        }
    }

    private static void writePlan(StateOutput out, HeadPlan p, String[] keyCodecs) {
        out.bool(p != null);
        if (p == null) return;
        out.varint(p.keep()).varint(p.oldRows());
        out.varint(java.util.Arrays.asList(keyCodecs).indexOf(p.keyName()));
        out.varint(java.util.Arrays.asList(BudgetAllocator.VALUE_CODECS).indexOf(p.valueName()));
        out.varint(p.bytes()).f64(p.error()).varint(p.budget()).varint(p.tokens());
    }

    private static HeadPlan readPlan(StateInput in, String f, CompressedKvCache c, int l, int h, int version) throws StateFormatException {
        if (!in.bool(f + ".present")) return null;
        // the key codecs the plan indexes: before version 4 KLT keys were offered no 1-bit codec (an old index is
        // shifted into this build's list, which only adds e8:1 in front)
        String[] keyCodecs = version >= 4 ? BudgetAllocator.keyCodecs(c.config()) : BudgetAllocator.KEY_CODECS;
        int shift = version >= 4 ? 0 : BudgetAllocator.keyCodecs(c.config()).length - BudgetAllocator.KEY_CODECS.length;
        int keep = in.varint(f + ".keep", 0, Integer.MAX_VALUE);
        int old = in.varint(f + ".oldRows", keep, Integer.MAX_VALUE);
        int k = in.varint(f + ".keyCodec", 0, keyCodecs.length - 1) + shift;
        int v = in.varint(f + ".valueCodec", 0, BudgetAllocator.VALUE_CODECS.length - 1);
        long bytes = in.varint(f + ".bytes", 0L, Long.MAX_VALUE);
        double error = in.f64(f + ".error");
        long budget = in.varint(f + ".budget", 0L, Long.MAX_VALUE);
        long tokens = in.varint(f + ".tokens", 0L, Long.MAX_VALUE);
        BitAllocation a = c.codecs();
        RowTransform t = c.head(l, h).transform; // restored before the plan: the codecs its rows are stored with
        return new HeadPlan(l, h, keep, old, BudgetAllocator.keyCodecs(c.config())[k], BudgetAllocator.VALUE_CODECS[v],
                a.allocatorKeys()[k], a.allocatorValues()[v], t.keyCodec(a.allocatorKeys()[k]), t.valueCodec(a.allocatorValues()[v]),
                bytes, error, budget, tokens);
    }

    private static void writeWindow(StateOutput out, RowWindow w, int dim, boolean half) {
        int n = w.count();
        out.varint(w.capacity()).varint(n);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = w.position(i);
        out.positions(p, 0, n);
        float[] k = new float[n * dim], v = new float[n * dim];
        w.keys(0, n, k, 0);
        w.values(0, n, v, 0);
        if (half) {
            short[] hk = new short[n * dim], hv = new short[n * dim];
            for (int i = 0; i < hk.length; i++) {
                hk[i] = Float.floatToFloat16(k[i]);
                hv[i] = Float.floatToFloat16(v[i]);
            }
            out.shorts(hk, 0, hk.length).shorts(hv, 0, hv.length);
        } else {
            out.shuffledFloats(k, 0, k.length).shuffledFloats(v, 0, v.length);
        }
    }

    private static void writeAccumulator(StateOutput out, H2OAccumulator a) {
        out.bool(a != null);
        if (a == null) return;
        out.u8(a.reduce().ordinal()).varint(a.capacity()).varint(a.length());
        float[] m = a.scores();
        int[] seen = a.counts();
        out.floats(m, 0, m.length).varints(seen, 0, seen.length);
    }

    /** A cache rebuilt from {@link #write}'s bytes; every value is checked, every allocation bounded. */
    static CompressedKvCache read(KvLayout layout, String settings, StateInput in) throws StateFormatException {
        return read(layout, settings(settings), in);
    }

    /** The configuration a saved state names (its canonical spec); CORRUPT when it does not parse. */
    static KvCompression settings(String settings) throws StateFormatException {
        try {
            return KvSpec.parse(settings);
        } catch (IllegalArgumentException e) {
            throw corrupt("nq.settings", e.getMessage());
        }
    }

    /** As {@link #read(KvLayout, String, StateInput)} with the settings parsed (and {@code basis=auto} resolved). */
    static CompressedKvCache read(KvLayout layout, KvCompression cfg, StateInput in) throws StateFormatException {
        int version = in.u8("nq.version");
        if (version < OLDEST_READ || version > VERSION) {
            throw new StateFormatException(StateFormatException.Problem.UNSUPPORTED_VERSION, "nq.version",
                    "compressed cache state version " + version + " is not supported (this reader reads " + OLDEST_READ
                            + " to " + VERSION + ")");
        }
        int dim = layout.headDim();
        expect(in, "nq.layers", layout.layers());
        expect(in, "nq.kvHeads", layout.kvHeads());
        expect(in, "nq.headDim", dim);
        long seen = in.varint("nq.seen", 0L, Integer.MAX_VALUE);
        long last = in.svarint("nq.lastPosition");
        if (last != seen - 1) { // a session's cache holds positions 0 .. seen - 1
            throw corrupt("nq.lastPosition", last + " does not follow " + seen + " tokens seen");
        }
        boolean prompted = in.bool("nq.prompted");
        boolean fellBack = cfg.kltBasis() != null && version >= 5 && in.bool("nq.kltFallback");
        long savedBasis = cfg.kltBasis() != null && version >= 3 && !fellBack ? in.i64("nq.kltBasis") : 0;
        KvCompression run = cfg;
        if (fellBack) { // coded with the Hadamard rotation: restored the same way, model or not
            if (!KvCompression.AUTO_BASIS.equalsIgnoreCase(cfg.kltBasis())) {
                throw corrupt("nq.kltFallback", "basis=auto's fallback, but the settings name basis=" + cfg.kltBasis());
            }
            run = cfg.toBuilder().kltBasis(cfg.kltBasis()).build(); // unresolved: the cache falls back as the saved one did
        } else if (BasisFallback.applies(cfg)) {
            throw new StateFormatException(StateFormatException.Problem.FOREIGN_SHARED_DATA, "nq.kltBasis",
                    "the cache was coded with the model's own KLT bases (basis=auto), and this reader has no model to find"
                            + " them for: restore it with its model (Model.restore)");
        }
        CompressedKvCache c = new CompressedKvCache(layout, run);
        if (cfg.kltBasis() != null && version >= 3 && !fellBack && c.sharedBasis().fingerprint() != savedBasis) {
            throw new StateFormatException(StateFormatException.Problem.FOREIGN_SHARED_DATA, "nq.kltBasis", String.format(
                    "the cache was coded with the per-model KLT bases %016x, the bases found here for this model (%s) are %016x;"
                            + " they differ when they were fitted by another build of the engine: restore where the saved"
                            + " bases are, or run the prompt again", savedBasis, cfg.basisFileToLoad(), c.sharedBasis().fingerprint()));
        }
        KvCompression runs = c.config(); // what the rows were coded with (the fallback's Hadamard rotation, if so)
        boolean allocated = in.bool("nq.allocated");
        int nBoost = in.count("nq.boosted.count", layout.layers(), 1);
        int[] boosted = in.varints("nq.boosted", nBoost, layout.layers() - 1);
        try {
            if (allocated) c.codecs().restore(boosted);
            else if (nBoost > 0) throw corrupt("nq.boosted", "boosted layers before the allocation ran");
        } catch (IllegalArgumentException e) {
            throw corrupt("nq.boosted", e.getMessage());
        }
        int nCodecs = in.count("nq.codecs.count", 1 << 12, 6);
        CodecDescriptor[] table = new CodecDescriptor[nCodecs];
        for (int i = 0; i < nCodecs; i++) table[i] = in.descriptor("nq.codecs[" + i + "]");
        boolean half = runs.windowPrecision() == KvCompression.Precision.F16;
        for (int l = 0; l < layout.layers(); l++) {
            VectorCompressor[] codecs = resolve(table, c.codecs().codecsOf(l), l);
            for (int h = 0; h < layout.kvHeads(); h++) {
                String f = "nq.layer[" + l + "].head[" + h + "]";
                HeadState hd = c.head(l, h);
                int windowFirst = readWindow(in, f + ".window", hd.window, dim, half, runs, (int) last);
                readTransform(in, f + ".transform", hd.transform, dim, runs);
                VectorCompressor[] headCodecs = codecs;
                if (runs.kltKeys() || runs.kltValues()) { // the head's KLT codecs, made from its basis as compression made them
                    List<VectorCompressor> live = new ArrayList<>();
                    for (VectorCompressor v : c.codecs().codecsOf(l)) {
                        live.add(v);
                        live.add(hd.transform.keyCodec(v));
                        live.add(hd.transform.valueCodec(v));
                    }
                    headCodecs = resolve(table, live, l);
                }
                readPromptQueries(in, f + ".promptQueries", hd, layout.groupSize() * dim);
                hd.received = readAccumulator(in, f + ".received", Math.max(hd.window.capacity(), hd.window.count()));
                readSegments(in, f + ".segments", hd, headCodecs, table, dim, windowFirst, (int) last);
                if (runs.ratio() > 0) hd.plan = readPlan(in, f + ".plan", c, l, h, version);
            }
        }
        c.restoreCounters(seen, (int) last, prompted);
        return c;
    }

    private static void expect(StateInput in, String field, int value) throws StateFormatException {
        int v = in.varint(field, 0, Integer.MAX_VALUE);
        if (v != value) throw corrupt(field, v + ", the model's layout has " + value);
    }

    /** The codec of each table entry among those layer {@code l} may use, or null when it uses none of them. */
    private static VectorCompressor[] resolve(CodecDescriptor[] table, List<VectorCompressor> live, int l) {
        VectorCompressor[] out = new VectorCompressor[table.length];
        for (int i = 0; i < table.length; i++) {
            for (VectorCompressor v : live) {
                if (v.descriptor().equals(table[i])) {
                    out[i] = v;
                    break;
                }
            }
        }
        return out;
    }

    /** @return the first window position, or Integer.MAX_VALUE when the window is empty */
    private static int readWindow(StateInput in, String f, RowWindow w, int dim, boolean half, KvCompression cfg, int last)
            throws StateFormatException {
        long rowBytes = w.bytesFor(1);
        int capacity = in.varint(f + ".capacity", 0, Integer.MAX_VALUE / Math.max(1, 2 * dim));
        int n = in.count(f + ".count", capacity, 1 + 2 * dim * (half ? 2 : 4));
        in.reserve(f + ".capacity", rowBytes * capacity);
        int[] p = in.positions(f + ".positions", n, last);
        w.ensureCapacity(capacity);
        float[] k = new float[dim], v = new float[dim];
        short[] hk = half ? new short[n * dim] : null, hv = half ? new short[n * dim] : null;
        float[] fk = half ? null : new float[n * dim], fv = half ? null : new float[n * dim];
        if (half) {
            in.shorts(f + ".keys", hk, 0, n * dim);
            in.shorts(f + ".values", hv, 0, n * dim);
        } else {
            in.shuffledFloats(f + ".keys", fk, 0, n * dim);
            in.shuffledFloats(f + ".values", fv, 0, n * dim);
        }
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < dim; d++) {
                k[d] = half ? Float.float16ToFloat(hk[i * dim + d]) : fk[i * dim + d];
                v[d] = half ? Float.float16ToFloat(hv[i * dim + d]) : fv[i * dim + d];
            }
            w.add(p[i], k, 0, v, 0);
        }
        return n == 0 ? Integer.MAX_VALUE : p[0];
    }

    private static void readTransform(StateInput in, String f, RowTransform t, int dim, KvCompression cfg) throws StateFormatException {
        float[] km = null, vm = null, ks = null;
        if (in.bool(f + ".means")) {
            km = in.floats(f + ".keyMean", dim);
            vm = in.floats(f + ".valueMean", dim);
        }
        if (in.bool(f + ".keyScale.present")) ks = in.floats(f + ".keyScale", dim);
        t.restore(km, vm, ks);
        if (cfg.kltKeys() || cfg.kltValues()) {
            KltBasis kb = readKlt(in, f + ".keyKlt", dim, t.sharedKey());
            KltBasis vb = readKlt(in, f + ".valueKlt", dim, t.sharedValue());
            if ((kb != null && !cfg.kltKeys()) || (vb != null && !cfg.kltValues())) {
                throw corrupt(f, "a KLT basis for rows these settings do not code with one");
            }
            t.restoreKlt(kb, vb);
        }
    }

    private static void readPromptQueries(StateInput in, String f, HeadState hd, int width) throws StateFormatException {
        boolean present = in.bool(f + ".present");
        PromptQueryRing ring = hd.promptQueries;
        if (!present) {
            hd.promptQueries = null;
            return;
        }
        if (ring == null) throw corrupt(f, "present, but these settings record no prompt queries");
        ring.recorded = in.varint(f + ".recorded", 0, Integer.MAX_VALUE);
        ring.allocateAll();
        in.shorts(f + ".queries", ring.queries, 0, ring.slots() * width);
        for (int i = 0; i < ring.slots(); i++) {
            long p = in.svarint(f + ".positions");
            if (p < Integer.MIN_VALUE || p > Integer.MAX_VALUE) throw corrupt(f + ".positions", "out of range: " + p);
            ring.positions[i] = (int) p;
        }
    }

    private static H2OAccumulator readAccumulator(StateInput in, String f, int maxLength) throws StateFormatException {
        if (!in.bool(f + ".present")) return null;
        int r = in.u8(f + ".reduce");
        if (r >= GqaReduce.values().length) throw corrupt(f + ".reduce", "unknown reduction " + r);
        int capacity = in.varint(f + ".capacity", 0, Integer.MAX_VALUE / 8);
        int length = in.count(f + ".length", Math.min(capacity, maxLength), 5);
        in.reserve(f + ".capacity", 8L * capacity);
        float[] mass = in.floats(f + ".mass", length);
        int[] seen = in.varints(f + ".seen", length, Integer.MAX_VALUE);
        return H2OAccumulator.restore(GqaReduce.values()[r], capacity, mass, seen);
    }

    private static void readSegments(StateInput in, String f, HeadState hd, VectorCompressor[] codecs,
                                     CodecDescriptor[] table, int dim, int windowFirst, int last) throws StateFormatException {
        int count = in.count(f + ".count", Integer.MAX_VALUE, 6);
        int firstUnaged = in.varint(f + ".firstUnaged", 0, count);
        List<Segment> list = new ArrayList<>(Math.min(count, 1 << 16));
        int prev = -1;
        for (int i = 0; i < count; i++) {
            String g = f + "[" + i + "]";
            int n = in.count(g + ".rows", Integer.MAX_VALUE, 1);
            if (n == 0) throw corrupt(g + ".rows", "an empty segment");
            int[] p = in.positions(g + ".positions", n, last);
            if (p[0] <= prev || p[n - 1] >= windowFirst) {
                throw corrupt(g + ".positions", "not after the previous segment's and before the window's");
            }
            prev = p[n - 1];
            boolean aged = in.bool(g + ".aged");
            if (!aged && i < firstUnaged) throw corrupt(g + ".aged", "a young segment before the first unaged one");
            VectorCompressor kc = codec(in, g + ".keyCodec", codecs, table);
            VectorCompressor vc = codec(in, g + ".valueCodec", codecs, table);
            if (kc.dimension() != dim || vc.dimension() != dim) throw corrupt(g, "codec dimension differs from headDim " + dim);
            long kBytes = CodedRows.bytesFor(kc, n), vBytes = CodedRows.bytesFor(vc, n);
            if (kBytes + vBytes > in.remaining()) {
                throw new StateFormatException(StateFormatException.Problem.TRUNCATED, g + ".blocks",
                        "needs " + (kBytes + vBytes) + " bytes, " + in.remaining() + " left");
            }
            CodedRows keys = CodedRows.of(kc, in.raw(g + ".keyBlocks", (int) kBytes), n);
            CodedRows values = CodedRows.of(vc, in.raw(g + ".valueBlocks", (int) vBytes), n);
            H2OAccumulator mass = readAccumulator(in, g + ".mass", n);
            if (mass != null && aged) throw corrupt(g + ".mass", "an aged segment tracks no attention mass");
            list.add(new Segment(new PositionSet(p, n), keys, values, aged, mass));
        }
        hd.segments.restore(list, firstUnaged);
    }

    private static VectorCompressor codec(StateInput in, String field, VectorCompressor[] codecs, CodecDescriptor[] table)
            throws StateFormatException {
        int i = in.varint(field, 0, Math.max(0, table.length - 1));
        if (table.length == 0) throw corrupt(field, "the codec table is empty");
        VectorCompressor v = codecs[i];
        if (v == null) {
            CodecDescriptor d = table[i];
            throw new StateFormatException(StateFormatException.Problem.UNSUPPORTED_VERSION, field, "the saved codec " + d
                    + " is not one this build codes this layer with under the saved settings (a different codec version?)");
        }
        return v;
    }
}
