package dev.nexusquant.kv;

import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.e8.E8MixedCodec;
import dev.nexusquant.codec.klt.KltBasis;
import dev.nexusquant.engine.kv.RopeSpec;

/**
 * The per-head transform between the rows the engine appends and the rows the codecs store, written once for the
 * four places that need it (compression, the bit allocation's sensitivity measure, attention and the debug
 * expansion):
 * <pre>
 *   key   k  →  RoPE undone (keys=pre)  →  − keyMean  →  × keyScale  →  rotation H  →  stored
 *   value v  →                             − valueMean →               →  rotation H  →  stored
 * </pre>
 * The means (centring, exact: {@code q . mean} is added back per query) and the key channel scales (key balancing,
 * exact: queries are divided by the same scales) are fitted once, from the candidates of the head's first
 * compression, and stay fixed; before that, and for the settings that turn them off, they are absent.
 *
 * <p>With {@code rot=klt} (keys, values or both) the rotation H of those rows is instead a decorrelating transform
 * fitted per head from the same candidates ({@link KltBasis}: principal directions of the centred rows, held as fp16
 * Householder reflectors, counted in {@link #bytes()}), and the E8 codecs of those rows are replaced by codes at rates
 * chosen by variance at the same bytes per row ({@link #keyCodec}, {@link #valueCodec}).
 */
final class RowTransform {

    private final KvCompression cfg;
    private final int dim;
    private final HeadRotation rotation;
    private final PositionalRotation rope; // null unless keys are stored with RoPE undone
    private final RopeSpec ropeSpec;
    private float[] keyMean;   // [dim], null until fitted (or not centred)
    private float[] valueMean; // [dim]
    private float[] keyScale;  // [dim] channel balance w, or null
    private KltBasis keyKlt;   // the keys' decorrelating transform (rot=klt), null until fitted or when unused
    private KltBasis valueKlt; // the values'
    private final KltBasis sharedKey;   // per-model bases (basis=FILE), used instead of fitting; not counted
    private final KltBasis sharedValue;
    private KltBasis plannedKey;        // prompt bases a byte-budget plan fitted and priced (used instead of fitting)
    private KltBasis plannedValue;

    RowTransform(KvCompression cfg, int dim, HeadRotation rotation, PositionalRotation rope, RopeSpec ropeSpec) {
        this(cfg, dim, rotation, rope, ropeSpec, null, null);
    }

    /** With the per-model KLT bases of this head (each null to fit one from the prompt). */
    RowTransform(KvCompression cfg, int dim, HeadRotation rotation, PositionalRotation rope, RopeSpec ropeSpec,
                 KltBasis sharedKey, KltBasis sharedValue) {
        this.sharedKey = sharedKey;
        this.sharedValue = sharedValue;
        this.cfg = cfg;
        this.dim = dim;
        this.rotation = rotation;
        this.rope = rope;
        this.ropeSpec = ropeSpec;
    }

    /** The same transform with nothing fitted yet: what this head's first compression would fit. */
    RowTransform unfitted() {
        return new RowTransform(cfg, dim, rotation, rope, ropeSpec, sharedKey, sharedValue);
    }

    boolean preRope() {
        return rope != null;
    }

    boolean rotates() {
        return !rotation.isIdentity();
    }

    float[] keyMean() {
        return keyMean;
    }

    float[] valueMean() {
        return valueMean;
    }

    float[] keyScale() {
        return keyScale;
    }

    KltBasis keyKlt() {
        return keyKlt;
    }

    KltBasis valueKlt() {
        return valueKlt;
    }

    KltBasis sharedKey() {
        return sharedKey;
    }

    KltBasis sharedValue() {
        return sharedValue;
    }

    /** Sets the decorrelating transforms of a saved state (each null when not fitted or not used). */
    void restoreKlt(KltBasis keys, KltBasis values) {
        if ((keys != null && !cfg.kltKeys()) || (values != null && !cfg.kltValues())) {
            throw new IllegalArgumentException("a KLT basis for rows these settings rotate otherwise");
        }
        this.keyKlt = keys;
        this.valueKlt = values;
    }

    /**
     * The codec that stores this head's key rows in place of {@code base}: with a fitted KLT basis an E8 codec with one
     * scale per row becomes the codes at variance-chosen rates within the same bytes per row; any other codec codes
     * the transformed rows as they are.
     */
    VectorCompressor keyCodec(VectorCompressor base) {
        return mapped(keyKlt, base);
    }

    /** As {@link #keyCodec} for value rows. */
    VectorCompressor valueCodec(VectorCompressor base) {
        return mapped(valueKlt, base);
    }

    private static VectorCompressor mapped(KltBasis klt, VectorCompressor base) {
        if (klt == null || !(base instanceof E8Codec e) || e.scaleGroup() != e.dimension()) return base;
        return klt.codecFor(e.bytesPerBlock());
    }

    /**
     * Makes the first compression use the prompt bases that {@code planned} (this head's transform as a byte-budget
     * plan fitted it, see {@link BudgetPlanner}) holds, so that the rows are coded with the transform the plan priced;
     * they are counted in {@link #bytes()} from that fit on. Shared (per-model) bases are left as they are.
     */
    void adoptPlanned(RowTransform planned) {
        if (planned.keyKlt != null && planned.keyKlt != sharedKey) plannedKey = planned.keyKlt;
        if (planned.valueKlt != null && planned.valueKlt != sharedValue) plannedValue = planned.valueKlt;
    }

    /**
     * Takes the prompt bases' cost out of their codecs' row budgets ({@link KltBasis#withoutReserve}): for a plan that
     * counts the bases' bytes beside the rows.
     */
    void chargeBasesApart() {
        if (keyKlt != null && keyKlt != sharedKey) keyKlt = keyKlt.withoutReserve();
        if (valueKlt != null && valueKlt != sharedValue) valueKlt = valueKlt.withoutReserve();
    }

    /** Sets what a saved state fitted (each [dim] or null; the means both or neither). */
    void restore(float[] keyMean, float[] valueMean, float[] keyScale) {
        if ((keyMean == null) != (valueMean == null)) throw new IllegalArgumentException("key and value means: both or neither");
        this.keyMean = keyMean;
        this.valueMean = valueMean;
        this.keyScale = keyScale;
    }

    /** Bytes of the fitted arrays. */
    long bytes() {
        return (keyMean == null ? 0 : 4L * (keyMean.length + valueMean.length)) + (keyScale == null ? 0 : 4L * keyScale.length)
                + (keyKlt == null || keyKlt == sharedKey ? 0 : keyKlt.bytes())
                + (valueKlt == null || valueKlt == sharedValue ? 0 : valueKlt.bytes());
    }

    /** Undoes RoPE on {@code n} keys {@code [n][dim]} at their positions, in place (nothing unless keys=pre). */
    void toKeyDomain(float[] k, int n, int[] pos) {
        if (rope != null) {
            for (int i = 0; i < n; i++) rope.inverse(k, i * dim, pos[i]);
        }
    }

    /**
     * Fits what is not fitted yet from {@code n} candidate rows ({@code k} in the key domain, see {@link #toKeyDomain};
     * {@code v} the values, or null when only keys will be transformed): the means once, from every candidate; the
     * key scales once there are observation queries ({@code q}: [nq][dim], or null).
     *
     * @return bytes the newly fitted arrays take
     */
    long fit(float[] k, float[] v, int n, float[] q, int nq) {
        return fit(k, v, n, q, nq, null, 0);
    }

    /**
     * As {@link #fit(float[], float[], int, float[], int)}, and with {@code rot=klt} the decorrelating transforms
     * from the same rows, centred and balanced ({@code budget}: bytes per row of the key and value codecs the rows
     * will mostly be stored with; {@code rows}: how many rows they are, sharing the basis's cost).
     */
    long fit(float[] k, float[] v, int n, float[] q, int nq, int[] budget, int rows) {
        long before = bytes();
        if (keyMean == null && (cfg.centerKeys() || cfg.centerValues())) {
            keyMean = cfg.centerKeys() ? mean(k, n) : new float[dim];
            valueMean = cfg.centerValues() && v != null ? mean(v, n) : new float[dim];
        }
        if (keyScale == null && cfg.balanceKeys() && q != null && nq > 0) {
            keyScale = KeyBalance.scales(k, n, keyMean, q, nq, dim, ropeSpec);
        }
        if (keyKlt == null && cfg.kltKeys() && sharedKey != null) keyKlt = sharedKey;
        if (valueKlt == null && cfg.kltValues() && sharedValue != null) valueKlt = sharedValue;
        if (keyKlt == null && cfg.kltKeys() && plannedKey != null) keyKlt = plannedKey;
        if (valueKlt == null && cfg.kltValues() && plannedValue != null) valueKlt = plannedValue;
        if (keyKlt == null && cfg.kltKeys() && n > 0) {
            float[] c = java.util.Arrays.copyOf(k, n * dim);
            for (int i = 0; i < n; i++) {
                if (keyMean != null) for (int j = 0; j < dim; j++) c[i * dim + j] -= keyMean[j];
                if (keyScale != null) for (int j = 0; j < dim; j++) c[i * dim + j] *= keyScale[j];
            }
            keyKlt = KltBasis.fit(c, n, dim, budget == null ? 2 + dim / 4 : budget[0], Math.max(1, rows > 0 ? rows : n));
        }
        if (valueKlt == null && cfg.kltValues() && v != null && n > 0) {
            float[] c = java.util.Arrays.copyOf(v, n * dim);
            if (keyMean != null) {
                for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) c[i * dim + j] -= valueMean[j];
            }
            valueKlt = KltBasis.fit(c, n, dim, budget == null ? 2 + dim / 4 : budget[1], Math.max(1, rows > 0 ? rows : n));
        }
        return bytes() - before;
    }

    private float[] mean(float[] rows, int n) {
        double[] acc = new double[dim];
        for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) acc[j] += rows[i * dim + j];
        float[] m = new float[dim];
        for (int j = 0; j < dim; j++) m[j] = (float) (acc[j] / Math.max(1, n));
        return m;
    }

    /** A key row in the key domain to its stored form, in place: centre, balance, rotate. */
    void keyToStorage(float[] k, int off) {
        if (keyMean != null) {
            for (int j = 0; j < dim; j++) k[off + j] -= keyMean[j];
        }
        if (keyScale != null) {
            for (int j = 0; j < dim; j++) k[off + j] *= keyScale[j];
        }
        keyForward(k, off);
    }

    private void keyForward(float[] x, int off) {
        if (keyKlt != null) keyKlt.forward(x, off);
        else if (!cfg.kltKeys()) rotation.forward(x, off);
    }

    private void keyInverse(float[] x, int off) {
        if (keyKlt != null) keyKlt.inverse(x, off);
        else if (!cfg.kltKeys()) rotation.inverse(x, off);
    }

    private void valueForward(float[] x, int off) {
        if (valueKlt != null) valueKlt.forward(x, off);
        else if (!cfg.kltValues()) rotation.forward(x, off);
    }

    private void valueInverse(float[] x, int off) {
        if (valueKlt != null) valueKlt.inverse(x, off);
        else if (!cfg.kltValues()) rotation.inverse(x, off);
    }

    /** A value row to its stored form, in place: centre, rotate. */
    void valueToStorage(float[] v, int off) {
        if (keyMean != null) {
            for (int j = 0; j < dim; j++) v[off + j] -= valueMean[j];
        }
        valueForward(v, off);
    }

    /** A stored key row back to the domain the engine appended, in place: rotate back, unbalance, add the mean, RoPE. */
    void keyFromStorage(float[] k, int off, int pos) {
        keyInverse(k, off);
        if (keyScale != null) {
            for (int c = 0; c < dim; c++) k[off + c] /= keyScale[c];
        }
        if (keyMean != null) {
            for (int c = 0; c < dim; c++) k[off + c] += keyMean[c];
        }
        if (rope != null) rope.forward(k, off, pos);
    }

    /**
     * {@code n} stored key rows ([n][dim] at 0) back to the domain the engine appended, in place, as
     * {@link #keyFromStorage} does row by row; with a KLT basis the rows are rebuilt by the basis's explicit matrix
     * ({@link KltBasis#inverseRows}: only the coefficients a row stores are touched, in a vector kernel), the same rows
     * to float rounding. What attention runs per stored key when keys are kept with RoPE undone.
     *
     * @param work  [{@link KltBasis#rowsScratch}] scratch (rows rebuilt two or three at a time)
     * @param codec the codec the rows were decoded with: with a KLT basis and a mixed-rate codec the rebuild stops at
     *              its last coded group ({@link E8MixedCodec#codedDims()}: the coefficients past it are zero)
     * @return coefficients per row the KLT rebuild visited (0 without a KLT basis)
     */
    int keysFromStorage(float[] k, int n, int[] pos, float[] work, VectorCompressor codec) {
        long clock = AttendStages.now();
        if (keyKlt == null) {
            for (int r = 0; r < n; r++) keyFromStorage(k, r * dim, pos[r]);
            AttendStages.lap(AttendStages.Stage.KEY_ROPE, clock);
            return 0;
        }
        int coded = codec instanceof E8MixedCodec mixed && mixed.dimension() == dim ? mixed.codedDims() : dim;
        keyKlt.inverseRows(k, 0, n, work, coded);
        clock = AttendStages.lap(AttendStages.Stage.KEY_REBUILD, clock);
        for (int r = 0; r < n; r++) {
            int off = r * dim;
            if (keyScale != null) {
                for (int c = 0; c < dim; c++) k[off + c] /= keyScale[c];
            }
            if (keyMean != null) {
                for (int c = 0; c < dim; c++) k[off + c] += keyMean[c];
            }
            if (rope != null) rope.forward(k, off, pos[r]);
        }
        AttendStages.lap(AttendStages.Stage.KEY_ROPE, clock);
        return coded;
    }

    /** A stored value row back, in place: rotate back, add the mean. */
    void valueFromStorage(float[] v, int off) {
        valueInverse(v, off);
        if (keyMean != null) {
            for (int c = 0; c < dim; c++) v[off + c] += valueMean[c];
        }
    }

    /**
     * Queries to the domain of stored keys (keys=post): divided by the key scales, rotated; {@code qv} itself when
     * neither applies.
     *
     * @param qv [m][dim]
     */
    float[] queriesToStorage(float[] qv, int m) {
        if (rotation.isIdentity() && keyScale == null && keyKlt == null) return qv;
        float[] qs = qv.clone();
        for (int j = 0; j < m; j++) {
            if (keyScale != null) {
                for (int c = 0; c < dim; c++) qs[j * dim + c] /= keyScale[c];
            }
            if (keyKlt == null) keyForward(qs, j * dim);
        }
        if (keyKlt != null) keyKlt.forwardRows(qs, 0, m, new float[KltBasis.rowsScratch(dim)]); // the basis's explicit matrix, vectorized
        return qs;
    }

    /**
     * Rotates {@code m} rows of the storage domain back ([m][dim] at 0: values accumulated in the rotated domain): the
     * rotation's inverse row by row, or with a KLT basis its explicit matrix ({@link KltBasis#inverseRows}), the same
     * rows as the reflectors to float rounding.
     */
    void rotateBackRows(float[] x, int m) {
        if (valueKlt != null) {
            valueKlt.inverseRows(x, 0, m, new float[KltBasis.rowsScratch(dim)]);
            return;
        }
        for (int j = 0; j < m; j++) valueInverse(x, j * dim);
    }
}
