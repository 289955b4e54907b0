package dev.nexusquant.kv;

import dev.nexusquant.codec.RowCodecs;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.kv.eviction.EvictionPolicy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A complete, immutable description of a compressed KV cache; it is also the factory of such caches.
 *
 * <p>Pipeline per (layer, KV head), when tokens leave the full-precision window:
 * rank + evict ({@link #eviction}) → undo RoPE on keys ({@link #keyDomain} PRE_ROPE) → centre ({@link #centerKeys},
 * {@link #centerValues}) → rotate ({@link #rotate}, randomized Hadamard seeded by {@link #seed}) → quantize
 * ({@link #keyCodec}, {@link #valueCodec}, per-layer {@link #layerCodecs}).
 *
 * @param keyCodec        row codec of keys, e.g. {@code "e8:2"} (see {@link RowCodecs})
 * @param valueCodec      row codec of values
 * @param layerCodecs     per-layer overrides of the two codecs (negative layers count from the end: -1 = last)
 * @param agedKeyCodec    codec that rows are re-coded with once they are more than {@code ageAfter} positions older
 *                        than the newest token (null: no aging)
 * @param agedValueCodec  the same for values
 * @param ageAfter        the aging distance in tokens
 * @param boost           this many layers, chosen per prompt as those whose attention the key codec disturbs most
 *                        (see {@link CompressedKvCache}), get codecs two bits richer
 * @param rotate          randomized Hadamard rotation of stored rows
 * @param seed            seed of the rotation's random signs
 * @param keyDomain       store keys as they come (POST_ROPE) or with RoPE undone (PRE_ROPE)
 * @param centerKeys      subtract the per-head mean key before quantizing (exact: q.mean is added back per query)
 * @param centerValues    subtract the per-head mean value before quantizing (exact: added back once per query)
 * @param balanceKeys     scale key channels by {@code (E[q_c^2] / E[k_c^2])^(1/4)} (queries divided by the same) before
 *                        the rotation, from the prompt's observation queries: the diagonal scaling that minimizes the
 *                        error of the attention logits for a given quantization noise (exact: q.k is unchanged)
 * @param pin             the first {@code pin} positions of the sequence (attention sinks) are never dropped and are
 *                        stored in fp16 instead of the row codec
 * @param eviction        which tokens are dropped
 * @param window          most recent tokens kept in full precision
 * @param block           tokens compressed at a time once the window is full (and the generation batch size that
 *                        the perplexity protocol uses with this cache)
 * @param windowPrecision full-precision window held as fp16 or fp32
 * @param memoryBudget    bytes the cache may hold (0 = no limit); exceeding it throws {@link KvMemoryExceededException}
 * @param stagingLimit    prompt tokens held uncompressed before the cache compresses on its own
 * @param ratio           target compression ratio over fp16 (0 = none): at the end of the first prompt a
 *                        {@link BudgetAllocator} measures on the prompt itself what each (layer, KV head) loses for
 *                        each keep share and pair of codecs of its old rows, and spends the byte budget
 *                        {@code fp16 bytes / ratio} where it buys the most; the eviction share and the aged codecs of
 *                        the spec are then replaced by each head's plan (the young codecs, window and aging stay)
 * @param kltKeys         keys are rotated by a decorrelating transform fitted per head from the prompt's rows
 *                        (KLT / PCA) instead of the Hadamard rotation, and their E8 codes get rates by variance
 *                        (reverse water-filling) at the same bytes per row; the basis is counted in the cache's bytes
 * @param kltValues       the same for values
 * @param kltBasis        null: the KLT bases are fitted per head from the prompt's rows (counted in the cache's bytes);
 *                        else the path of a per-model basis file ({@link ModelBasis}) whose bases every prompt shares
 *                        (stored beside the model, not counted in the cache's bytes); {@code auto} for the model's
 *                        own bases from the basis cache, resolved by {@link #forModel}
 * @param kltBasisFile    with {@code basis=auto}: the file of the model's bases that {@link #forModel} found or fitted
 *                        (null until then); not part of the spec, which keeps {@code basis=auto} so that a saved
 *                        session finds its model's bases wherever it is restored
 * @param planQueries     with {@code ratio=R}: the prompt's last queries against which the {@link BudgetAllocator}
 *                        measures each head's options ({@code planq=N}, default {@link BudgetAllocator#QUERIES}); the
 *                        prompt's query ring holds at least this many (fewer under a tight memory budget)
 * @param ageTail         with aging and a dropping policy: a block of rows that ages and joins the aged run before it
 *                        is ranked together with the run's newest {@code ageTail} rows, and the best of them stay (a
 *                        row kept earlier gives way to a better one), instead of the block being cut on its own
 *                        ({@code agetail=N}; 0: each block on its own)
 */
public record KvCompression(String keyCodec, String valueCodec, List<LayerCodecs> layerCodecs,
                            String agedKeyCodec, String agedValueCodec, int ageAfter, int boost,
                            boolean rotate, long seed, KeyDomain keyDomain,
                            boolean centerKeys, boolean centerValues, boolean balanceKeys,
                            int pin, EvictionPolicy eviction, int window, int block, Precision windowPrecision,
                            long memoryBudget, int stagingLimit, double ratio, boolean kltKeys, boolean kltValues,
                            String kltBasis, String kltBasisFile, int planQueries, int ageTail)
        implements KvCacheFactory {

    public enum KeyDomain { POST_ROPE, PRE_ROPE }

    public enum Precision { F16, F32 }

    /** Codec overrides for one layer. */
    public record LayerCodecs(int layer, String keyCodec, String valueCodec) {
    }

    public KvCompression {
        RowCodecs.validate(keyCodec);
        RowCodecs.validate(valueCodec);
        layerCodecs = List.copyOf(layerCodecs);
        if ((agedKeyCodec == null) != (agedValueCodec == null)) {
            throw new IllegalArgumentException("aged codecs: give both ak and av, or neither");
        }
        if (agedKeyCodec != null) {
            RowCodecs.validate(agedKeyCodec);
            RowCodecs.validate(agedValueCodec);
            if (ageAfter < 1 || ageAfter > 1 << 24) throw new IllegalArgumentException("age distance out of range: " + ageAfter);
        }
        for (LayerCodecs lc : layerCodecs) {
            if (lc.layer() < -(1 << 16) || lc.layer() >= 1 << 16) {
                throw new IllegalArgumentException("layer override out of range: " + lc.layer());
            }
            RowCodecs.validate(lc.keyCodec());
            RowCodecs.validate(lc.valueCodec());
        }
        if (keyDomain == null || eviction == null || windowPrecision == null) {
            throw new IllegalArgumentException("KvCompression: null setting");
        }
        if (boost < 0 || boost > 1 << 16) throw new IllegalArgumentException("boost out of range: " + boost);
        if (pin < 0 || pin > 1 << 16) throw new IllegalArgumentException("pin out of range: " + pin);
        if (window < 0 || window > 1 << 20) throw new IllegalArgumentException("window out of range: " + window);
        if (block < 1 || block > 1 << 16) throw new IllegalArgumentException("block out of range: " + block);
        if (memoryBudget < 0) throw new IllegalArgumentException("memory budget is negative: " + memoryBudget);
        if (ratio != 0 && !(ratio >= 1 && ratio <= 1000)) {
            throw new IllegalArgumentException("ratio must be in 1..1000 (or 0 for none): " + ratio);
        }
        if (ratio > 0 && !eviction.drops()) {
            throw new IllegalArgumentException("ratio=R needs an evicting policy (evict=snapkv:S or h2o:S; the allocator"
                    + " replaces S by each head's share)");
        }
        if (ratio > 0 && pin > 0) throw new IllegalArgumentException("ratio=R does not combine with pin=N");
        if (planQueries < 1 || planQueries > MAX_PLAN_QUERIES) {
            throw new IllegalArgumentException("planq must be in 1.." + MAX_PLAN_QUERIES + ": " + planQueries);
        }
        if (ageTail < 0 || ageTail > SegmentStore.RUN_ROWS) {
            throw new IllegalArgumentException("agetail must be in 0.." + SegmentStore.RUN_ROWS + ": " + ageTail);
        }
        if (ageTail > 0 && (agedKeyCodec == null || !eviction.drops())) {
            throw new IllegalArgumentException("agetail=N ranks rows that age with the aged rows before them: it needs aging (ak, av) and an evicting policy");
        }
        if (ageTail > 0 && eviction.agingAttention()) {
            throw new IllegalArgumentException("agetail=N needs agerank=vnorm (aged rows keep no record of the attention"
                    + " they received while young)");
        }
        if ((kltKeys != kltValues) && !rotate) {
            throw new IllegalArgumentException("rot=klt:k and rot=klt:v rotate the other rows with Hadamard (rotate must be on)");
        }
        if (kltBasis != null && !(kltKeys || kltValues)) throw new IllegalArgumentException("basis=FILE needs rot=klt, klt:k or klt:v");
        if (kltBasisFile != null && !AUTO_BASIS.equalsIgnoreCase(kltBasis)) {
            throw new IllegalArgumentException("a resolved basis file belongs to basis=auto, the settings have basis=" + kltBasis);
        }
        if (kltKeys && kltValues && rotate) throw new IllegalArgumentException("rot=klt replaces the Hadamard rotation (rotate must be off)");
        if (stagingLimit < window + block) {
            throw new IllegalArgumentException("staging limit " + stagingLimit + " must be at least window + block ("
                    + (window + block) + ")");
        }
    }

    /** The HIGH preset (about 10x). */
    public static KvCompression high() {
        return Quality.HIGH.config();
    }

    /** The BALANCED preset (about 17x). */
    public static KvCompression balanced() {
        return Quality.BALANCED.config();
    }

    /** The MAX preset (about 33x). */
    public static KvCompression max() {
        return Quality.MAX.config();
    }

    /** Starts from a lossless configuration: fp32 rows, no rotation, no eviction, fp32 window. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.keyCodec = keyCodec;
        b.valueCodec = valueCodec;
        b.layerCodecs = new ArrayList<>(layerCodecs);
        b.agedKeyCodec = agedKeyCodec;
        b.agedValueCodec = agedValueCodec;
        b.ageAfter = ageAfter;
        b.boost = boost;
        b.rotate = rotate;
        b.seed = seed;
        b.kltKeys = kltKeys;
        b.kltValues = kltValues;
        b.kltBasis = kltBasis;
        b.kltBasisFile = kltBasisFile;
        b.keyDomain = keyDomain;
        b.centerKeys = centerKeys;
        b.centerValues = centerValues;
        b.balanceKeys = balanceKeys;
        b.pin = pin;
        b.eviction = eviction;
        b.window = window;
        b.block = block;
        b.windowPrecision = windowPrecision;
        b.memoryBudget = memoryBudget;
        b.stagingLimit = stagingLimit;
        b.ratio = ratio;
        b.planQueries = planQueries;
        b.ageTail = ageTail;
        return b;
    }

    /** The most queries {@code planq=N} may ask the allocator to measure against. */
    public static final int MAX_PLAN_QUERIES = 4096;

    /** The {@code basis=} value that asks for the model's own bases, fitted once and cached ({@link ModelBasisCache}). */
    public static final String AUTO_BASIS = "auto";

    /**
     * This configuration for {@code model}: with {@code basis=auto}, the path of the model's KLT bases in the basis
     * cache (fitted from text the model samples from BOS and written there when the cache has none, see
     * {@link ModelBasisCache}); any other configuration is returned as it is.
     */
    @Override
    public KvCompression forModel(dev.nexusquant.engine.model.Model model) {
        checkLayerOverrides(model.config().layers());
        if (!AUTO_BASIS.equalsIgnoreCase(kltBasis)) return this;
        String file = ModelBasisCache.resolve(model, keyDomain == KeyDomain.PRE_ROPE).toString();
        if (file.equals(kltBasisFile)) return this;
        Builder b = toBuilder();
        b.kltBasisFile = file;
        return b.build();
    }

    /** The basis file the caches load: the resolved file of {@code basis=auto}, else {@link #kltBasis} (or null). */
    String basisFileToLoad() {
        return kltBasisFile != null ? kltBasisFile : kltBasis;
    }

    /** This configuration with a memory budget (bytes; 0 = none). */
    public KvCompression withMemoryBudget(long bytes) {
        return toBuilder().memoryBudget(bytes).build();
    }

    /**
     * Key codec name for a layer of a model of {@code layers} layers. Overrides name a layer by index, or from the end
     * with a negative index ({@code -1} is the last layer); an exact index wins over one counted from the end.
     */
    public String keyCodecFor(int layer, int layers) {
        LayerCodecs lc = override(layer, layers);
        return lc == null ? keyCodec : lc.keyCodec();
    }

    /** Value codec name for a layer of a model of {@code layers} layers (see {@link #keyCodecFor}). */
    public String valueCodecFor(int layer, int layers) {
        LayerCodecs lc = override(layer, layers);
        return lc == null ? valueCodec : lc.valueCodec();
    }

    private LayerCodecs override(int layer, int layers) {
        for (LayerCodecs lc : layerCodecs) if (lc.layer() == layer) return lc;
        for (LayerCodecs lc : layerCodecs) if (lc.layer() < 0 && layers + lc.layer() == layer) return lc;
        return null;
    }

    /** A compressed cache for a model of this layout; IllegalArgumentException when a codec cannot code its heads. */
    @Override
    public KvCache create(KvLayout layout) {
        checkLayerOverrides(layout.layers());
        return new CompressedKvCache(layout, this);
    }

    /**
     * Every per-layer override must name a layer of a model of {@code layers} layers (0..layers-1, or -1..-layers
     * from the end): one that names none would be silently ignored.
     */
    void checkLayerOverrides(int layers) {
        for (LayerCodecs lc : layerCodecs) {
            if (lc.layer() >= layers || lc.layer() < -layers) {
                throw new IllegalArgumentException("--kv L" + lc.layer() + "=" + lc.keyCodec() + "/" + lc.valueCodec()
                        + ": the model has " + layers + " layers (L0..L" + (layers - 1) + ", or L-1..L-" + layers + " from the end)");
            }
        }
    }

    @Override
    public String describe() {
        return KvSpec.format(this);
    }

    @Override
    public String toString() {
        return describe();
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private String keyCodec = "fp32";
        private String valueCodec = "fp32";
        private List<LayerCodecs> layerCodecs = new ArrayList<>();
        private String agedKeyCodec;
        private String agedValueCodec;
        private int ageAfter = 256;
        private int boost;
        private boolean rotate;
        private long seed = 0x5EEDL;
        private KeyDomain keyDomain = KeyDomain.POST_ROPE;
        private boolean centerKeys;
        private boolean centerValues;
        private boolean balanceKeys;
        private int pin;
        private EvictionPolicy eviction = EvictionPolicy.none();
        private int window = 32;
        private int block = 32;
        private Precision windowPrecision = Precision.F32;
        private long memoryBudget;
        private int stagingLimit = 8192;
        private double ratio;
        private boolean kltKeys;
        private boolean kltValues;
        private String kltBasis;
        private String kltBasisFile;
        private int planQueries = BudgetAllocator.QUERIES;
        private int ageTail;

        public Builder keyCodec(String c) { this.keyCodec = c; return this; }
        public Builder valueCodec(String c) { this.valueCodec = c; return this; }
        public Builder codecs(String k, String v) { return keyCodec(k).valueCodec(v); }
        public Builder layer(int layer, String k, String v) {
            layerCodecs.removeIf(lc -> lc.layer() == layer);
            layerCodecs.add(new LayerCodecs(layer, k, v));
            return this;
        }
        public Builder aging(int after, String k, String v) {
            this.ageAfter = after;
            this.agedKeyCodec = k;
            this.agedValueCodec = v;
            return this;
        }
        public Builder boost(int layers) { this.boost = layers; return this; }
        public Builder ageAfter(int after) { this.ageAfter = after; return this; }
        public Builder agedCodecs(String k, String v) { this.agedKeyCodec = k; this.agedValueCodec = v; return this; }
        public Builder clearLayers() { layerCodecs.clear(); return this; }
        public Builder rotate(boolean r) { this.rotate = r; return this; }
        public Builder seed(long s) { this.seed = s; return this; }
        public Builder keyDomain(KeyDomain d) { this.keyDomain = d; return this; }
        public Builder center(boolean keys, boolean values) { this.centerKeys = keys; this.centerValues = values; return this; }
        public Builder balanceKeys(boolean b) { this.balanceKeys = b; return this; }
        public Builder pin(int n) { this.pin = n; return this; }
        public Builder eviction(EvictionPolicy e) { this.eviction = e; return this; }
        public Builder window(int w) { this.window = w; return this; }
        public Builder block(int b) { this.block = b; return this; }
        public Builder windowPrecision(Precision p) { this.windowPrecision = p; return this; }
        public Builder memoryBudget(long bytes) { this.memoryBudget = bytes; return this; }
        public Builder stagingLimit(int t) { this.stagingLimit = t; return this; }
        public Builder ratio(double r) { this.ratio = r; return this; }
        /** The prompt's last queries the allocator measures each head's options against (see {@link #planQueries}). */
        public Builder planQueries(int n) { this.planQueries = n; return this; }
        /** Aging rows compete with this many of the aged run's newest rows (see {@link #ageTail}). */
        public Builder ageTail(int rows) { this.ageTail = rows; return this; }
        /** KLT for keys and/or values; the other rows keep the Hadamard rotation (on when only one is KLT). */
        public Builder klt(boolean keys, boolean values) {
            this.kltKeys = keys;
            this.kltValues = values;
            if (keys && values) this.rotate = false;
            else if (keys || values) this.rotate = true;
            return this;
        }

        /** A per-model KLT basis file (see {@link ModelBasis}), or null to fit the bases per prompt. */
        public Builder kltBasis(String path) { this.kltBasis = path; this.kltBasisFile = null; return this; }

        public KvCompression build() {
            int staging = Math.max(stagingLimit, window + block);
            return new KvCompression(keyCodec, valueCodec, layerCodecs, agedKeyCodec, agedValueCodec, ageAfter, boost, rotate, seed, keyDomain, centerKeys,
                    centerValues, balanceKeys, pin, eviction, window, block, windowPrecision, memoryBudget, staging, ratio,
                    kltKeys, kltValues, kltBasis, kltBasisFile, planQueries, ageTail);
        }
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
