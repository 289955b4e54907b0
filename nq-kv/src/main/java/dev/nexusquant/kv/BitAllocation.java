package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.RowCodecs;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.baseline.Fp16Codec;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.tensor.Kernels;

import java.util.Arrays;

/**
 * Which codec codes which rows: per layer the key and value codecs of young rows, the aged codecs, and fp16 for the
 * pinned first positions; and, once, before the first compression, the {@code boost} layers that get codecs two bits
 * richer.
 *
 * <p>The boosted layers are those whose attention the base key codec would disturb most on this very prompt. The
 * measure: for every recorded prompt query, the KL divergence between its softmax over the staged keys and over the
 * same keys stored as the first compression will store them (the head's {@link RowTransform} fitted the same way,
 * coded and decoded). No calibration data: each prompt measures itself.
 */
final class BitAllocation {

    private final KvCompression cfg;
    private final int layers;
    private final int dim;
    private final int group;
    private final Kernels kernels;
    private final VectorCompressor[] keyCodecs;   // [layers]
    private final VectorCompressor[] valueCodecs; // [layers]
    private final VectorCompressor[] agedKeys;    // [layers], null without aging
    private final VectorCompressor[] agedValues;  // [layers]
    private final VectorCompressor pinCodec;
    private final VectorCompressor[] allocatorKeys;   // [BudgetAllocator.KEY_CODECS] with a ratio target, else null
    private final VectorCompressor[] allocatorValues; // [BudgetAllocator.VALUE_CODECS]
    private boolean allocated;
    private int[] boosted = new int[0];

    /** Builds every codec at the model's head size (IllegalArgumentException naming the codec if one cannot code it). */
    BitAllocation(KvCompression cfg, KvLayout layout, Kernels kernels) {
        this.cfg = cfg;
        this.layers = layout.layers();
        this.dim = layout.headDim();
        this.group = layout.groupSize();
        this.kernels = kernels;
        this.keyCodecs = new VectorCompressor[layers];
        this.valueCodecs = new VectorCompressor[layers];
        for (int l = 0; l < layers; l++) {
            keyCodecs[l] = RowCodecs.create(cfg.keyCodecFor(l, layers), dim, true);
            valueCodecs[l] = RowCodecs.create(cfg.valueCodecFor(l, layers), dim, false);
        }
        if (cfg.agedKeyCodec() != null) {
            agedKeys = new VectorCompressor[layers];
            agedValues = new VectorCompressor[layers];
            for (int l = 0; l < layers; l++) {
                agedKeys[l] = RowCodecs.create(cfg.agedKeyCodec(), dim, true);
                agedValues[l] = RowCodecs.create(cfg.agedValueCodec(), dim, false);
            }
        } else {
            agedKeys = null;
            agedValues = null;
        }
        this.pinCodec = new Fp16Codec(dim);
        if (cfg.ratio() > 0) {
            String[] keyNames = BudgetAllocator.keyCodecs(cfg);
            allocatorKeys = new VectorCompressor[keyNames.length];
            allocatorValues = new VectorCompressor[BudgetAllocator.VALUE_CODECS.length];
            for (int c = 0; c < allocatorKeys.length; c++) allocatorKeys[c] = RowCodecs.create(keyNames[c], dim, true);
            for (int c = 0; c < allocatorValues.length; c++) allocatorValues[c] = RowCodecs.create(BudgetAllocator.VALUE_CODECS[c], dim, false);
        } else {
            allocatorKeys = null;
            allocatorValues = null;
        }
    }

    VectorCompressor keys(int layer) {
        return keyCodecs[layer];
    }

    VectorCompressor values(int layer) {
        return valueCodecs[layer];
    }

    /** True when rows are re-coded as they age. */
    boolean aging() {
        return agedKeys != null;
    }

    VectorCompressor agedKeys(int layer) {
        return agedKeys[layer];
    }

    VectorCompressor agedValues(int layer) {
        return agedValues[layer];
    }

    /** The budget allocator's key codecs (in {@link BudgetAllocator#KEY_CODECS} order), or null without a ratio target. */
    VectorCompressor[] allocatorKeys() {
        return allocatorKeys;
    }

    /** The budget allocator's value codecs, or null. */
    VectorCompressor[] allocatorValues() {
        return allocatorValues;
    }

    /** fp16: the codec of the pinned first positions. */
    VectorCompressor pinned() {
        return pinCodec;
    }

    boolean allocated() {
        return allocated;
    }

    /** The layers {@link #allocate} boosted, ascending (empty before it ran or without boost). */
    int[] boostedLayers() {
        return boosted.clone();
    }

    /** Chooses the boosted layers from what every head has staged ({@code heads}: [layers][kvHeads]); runs once. */
    void allocate(HeadState[][] heads) {
        allocated = true;
        if (cfg.boost() <= 0) return;
        double[] sensitivity = new double[layers];
        for (int l = 0; l < layers; l++) {
            for (HeadState hd : heads[l]) sensitivity[l] += keySensitivity(l, hd);
        }
        Integer[] order = new Integer[layers];
        for (int l = 0; l < layers; l++) order[l] = l;
        Arrays.sort(order, (a, b) -> Double.compare(sensitivity[b], sensitivity[a]));
        boosted = new int[Math.min(cfg.boost(), layers)];
        for (int i = 0; i < boosted.length; i++) {
            int l = order[i];
            boosted[i] = l;
            boost(l);
        }
        Arrays.sort(boosted);
    }

    /** Gives layer {@code l} the codecs two bits richer. */
    private void boost(int l) {
        keyCodecs[l] = RowCodecs.create(RowCodecs.boosted(cfg.keyCodecFor(l, layers)), dim, true);
        valueCodecs[l] = RowCodecs.create(RowCodecs.boosted(cfg.valueCodecFor(l, layers)), dim, false);
        if (agedKeys != null) {
            agedKeys[l] = RowCodecs.create(RowCodecs.boosted(cfg.agedKeyCodec()), dim, true);
            agedValues[l] = RowCodecs.create(RowCodecs.boosted(cfg.agedValueCodec()), dim, false);
        }
    }

    /** The state of a saved cache: allocated, with these layers boosted (ascending, distinct, at most {@code boost}). */
    void restore(int[] boostedLayers) {
        if (allocated) throw new IllegalStateException("already allocated");
        if (boostedLayers.length > Math.min(cfg.boost(), layers)) throw new IllegalArgumentException("more boosted layers than boost=" + cfg.boost());
        for (int i = 0; i < boostedLayers.length; i++) {
            int l = boostedLayers[i];
            if (l < 0 || l >= layers || (i > 0 && l <= boostedLayers[i - 1])) throw new IllegalArgumentException("bad boosted layer " + l);
            boost(l);
        }
        boosted = boostedLayers.clone();
        allocated = true;
    }

    /** Every codec layer {@code l} may code rows with: young, aged (if any) and pinned. */
    java.util.List<VectorCompressor> codecsOf(int l) {
        var list = new java.util.ArrayList<VectorCompressor>(java.util.List.of(keyCodecs[l], valueCodecs[l], pinCodec));
        if (agedKeys != null) {
            list.add(agedKeys[l]);
            list.add(agedValues[l]);
        }
        if (allocatorKeys != null) {
            list.addAll(java.util.List.of(allocatorKeys));
            list.addAll(java.util.List.of(allocatorValues));
        }
        return list;
    }

    /** Sum over prompt queries and query heads of KL(softmax exact || softmax stored) for one head. */
    private double keySensitivity(int layer, HeadState hd) {
        RowWindow w = hd.window;
        int rows = w.count();
        int candidates = rows - cfg.window();
        if (!hd.hasPromptQueries() || candidates <= 0) return 0;
        PromptQueryRing ring = hd.promptQueries;
        float[] exact = hd.windowKeys(rows, dim);
        int[] pos = hd.windowPositions(rows);
        float[] obs = ring.toFloats();
        float[] quant = exact.clone();
        System.arraycopy(storedKeys(layer, hd, candidates), 0, quant, 0, candidates * dim);
        int cap = ring.slots();
        int nObs = ring.held();
        float invSqrtD = (float) (1.0 / Math.sqrt(dim));
        float[] le = new float[rows], lq = new float[rows];
        double kl = 0;
        for (int o = 0; o < nObs; o++) {
            int slot = (ring.recorded - 1 - o) % cap;
            int visible = 0;
            while (visible < rows && pos[visible] <= ring.positions[slot]) visible++;
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

    /**
     * The window's oldest {@code candidates} keys as the head's first compression would store them with this layer's
     * key codec, read back to the domain the engine appended: the head's {@link RowTransform} fitted the same way
     * (RoPE undone, centred, balanced, rotated), coded, decoded and transformed back. [candidates][dim]
     */
    float[] storedKeys(int layer, HeadState hd, int candidates) {
        float[] k = hd.windowKeys(candidates, dim);
        int[] pos = hd.windowPositions(candidates);
        PromptQueryRing ring = hd.hasPromptQueries() ? hd.promptQueries : null;
        RowTransform t = hd.transform.unfitted();
        t.toKeyDomain(k, candidates, pos);
        t.fit(k, null, candidates, ring == null ? null : ring.toFloats(), ring == null ? 0 : ring.held() * group,
                new int[]{keyCodecs[layer].bytesPerBlock(), valueCodecs[layer].bytesPerBlock()}, candidates);
        for (int r = 0; r < candidates; r++) t.keyToStorage(k, r * dim);
        CodedRows coded = CodedRows.encode(t.keyCodec(keyCodecs[layer]), k, 0, candidates);
        coded.decode(0, candidates, k, 0);
        for (int r = 0; r < candidates; r++) t.keyFromStorage(k, r * dim, pos[r]);
        return k;
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
}
