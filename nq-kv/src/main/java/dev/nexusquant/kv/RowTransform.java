package dev.nexusquant.kv;

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

    RowTransform(KvCompression cfg, int dim, HeadRotation rotation, PositionalRotation rope, RopeSpec ropeSpec) {
        this.cfg = cfg;
        this.dim = dim;
        this.rotation = rotation;
        this.rope = rope;
        this.ropeSpec = ropeSpec;
    }

    /** The same transform with nothing fitted yet: what this head's first compression would fit. */
    RowTransform unfitted() {
        return new RowTransform(cfg, dim, rotation, rope, ropeSpec);
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

    /** Sets what a saved state fitted (each [dim] or null; the means both or neither). */
    void restore(float[] keyMean, float[] valueMean, float[] keyScale) {
        if ((keyMean == null) != (valueMean == null)) throw new IllegalArgumentException("key and value means: both or neither");
        this.keyMean = keyMean;
        this.valueMean = valueMean;
        this.keyScale = keyScale;
    }

    /** Bytes of the fitted arrays. */
    long bytes() {
        return (keyMean == null ? 0 : 4L * (keyMean.length + valueMean.length)) + (keyScale == null ? 0 : 4L * keyScale.length);
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
        long before = bytes();
        if (keyMean == null && (cfg.centerKeys() || cfg.centerValues())) {
            keyMean = cfg.centerKeys() ? mean(k, n) : new float[dim];
            valueMean = cfg.centerValues() && v != null ? mean(v, n) : new float[dim];
        }
        if (keyScale == null && cfg.balanceKeys() && q != null && nq > 0) {
            keyScale = KeyBalance.scales(k, n, keyMean, q, nq, dim, ropeSpec);
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
        rotation.forward(k, off);
    }

    /** A value row to its stored form, in place: centre, rotate. */
    void valueToStorage(float[] v, int off) {
        if (keyMean != null) {
            for (int j = 0; j < dim; j++) v[off + j] -= valueMean[j];
        }
        rotation.forward(v, off);
    }

    /** A stored key row back to the domain the engine appended, in place: rotate back, unbalance, add the mean, RoPE. */
    void keyFromStorage(float[] k, int off, int pos) {
        rotation.inverse(k, off);
        if (keyScale != null) {
            for (int c = 0; c < dim; c++) k[off + c] /= keyScale[c];
        }
        if (keyMean != null) {
            for (int c = 0; c < dim; c++) k[off + c] += keyMean[c];
        }
        if (rope != null) rope.forward(k, off, pos);
    }

    /** A stored value row back, in place: rotate back, add the mean. */
    void valueFromStorage(float[] v, int off) {
        rotation.inverse(v, off);
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
        if (rotation.isIdentity() && keyScale == null) return qv;
        float[] qs = qv.clone();
        for (int j = 0; j < m; j++) {
            if (keyScale != null) {
                for (int c = 0; c < dim; c++) qs[j * dim + c] /= keyScale[c];
            }
            rotation.forward(qs, j * dim);
        }
        return qs;
    }

    /** Rotates a row of the storage domain back (values accumulated in the rotated domain). */
    void rotateBack(float[] x, int off) {
        rotation.inverse(x, off);
    }
}
