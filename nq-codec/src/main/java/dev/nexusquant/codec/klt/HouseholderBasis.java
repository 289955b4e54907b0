package dev.nexusquant.codec.klt;

/**
 * An orthonormal transform Q of R^dim whose first {@code r} columns are (up to sign, and to fp16 rounding) r given
 * orthonormal directions, held as r Householder reflectors {@code H_i = I - tau_i v_i v_i^T} with
 * {@code Q = H_0 H_1 ... H_{r-1}}:
 * <pre>
 *   forward  y = Q^T x = H_{r-1} ... H_0 x     (y_j, j &lt; r: the coefficient along direction j)
 *   inverse  x = Q y   = H_0 ... H_{r-1} y
 * </pre>
 * Why reflectors: any nonzero v gives an exactly orthogonal {@code H}, so the vectors can be stored rounded to fp16
 * (their {@code tau = 2 / |v|²} recomputed from the rounded values) and Q stays orthonormal to fp32 rounding, the
 * inverse exact, and a saved and restored basis is the same transform bit for bit. The last {@code dim - r}
 * coordinates of y are coordinates in some orthonormal basis of the complement: nothing is lost, rows can still be
 * stored whole (fp16 sinks) in the same domain. Cost: {@code 4 r dim} flops per row each way; storage
 * {@code 2 Σ_i (dim - i)} bytes (v_i is zero above index i).
 *
 * <p>Immutable and thread-safe.
 */
public final class HouseholderBasis {

    private final int dim;
    private final int rank;
    private final short[] half;  // [rank] packed fp16 vectors, v_i[i .. dim)
    private final float[][] v;   // [rank][dim - i] the same values as float
    private final float[] tau;   // [rank] 2 / |v_i|², 0 for a reflector that is the identity

    private HouseholderBasis(int dim, int rank, short[] half) {
        this.dim = dim;
        this.rank = rank;
        this.half = half;
        this.v = new float[rank][];
        this.tau = new float[rank];
        int at = 0;
        for (int i = 0; i < rank; i++) {
            int len = dim - i;
            v[i] = new float[len];
            double nn = 0;
            for (int k = 0; k < len; k++) {
                float x = Float.float16ToFloat(half[at + k]);
                if (!Float.isFinite(x)) throw new IllegalArgumentException("HouseholderBasis: reflector " + i + " holds a NaN or infinite value");
                v[i][k] = x;
                nn += (double) x * x;
            }
            tau[i] = nn > 0 ? (float) (2 / nn) : 0f;
            at += len;
        }
    }

    /** fp16 values a basis of {@code rank} reflectors at {@code dim} stores. */
    public static int storedValues(int dim, int rank) {
        return rank * dim - rank * (rank - 1) / 2;
    }

    /**
     * The basis whose first columns are the first {@code rank} columns of {@code directions} ([dim][n] row-major,
     * n ≥ rank, orthonormal columns): Householder QR of those columns, reflectors rounded to fp16.
     */
    public static HouseholderBasis fit(double[] directions, int dim, int n, int rank) {
        if (dim <= 0 || rank < 0 || rank > dim || rank > n || directions.length != (long) dim * n) {
            throw new IllegalArgumentException("HouseholderBasis: rank " + rank + " of " + n + " directions of dim " + dim);
        }
        double[] a = new double[dim * rank]; // [dim][rank] working copy of the columns
        for (int k = 0; k < dim; k++) for (int j = 0; j < rank; j++) a[k * rank + j] = directions[k * n + j];
        short[] half = new short[storedValues(dim, rank)];
        float[] vf = new float[dim];
        int at = 0;
        for (int i = 0; i < rank; i++) {
            // reflect column i (rows i..dim) onto -sign(a_ii) |x| e_i: v = x + sign(x_0) |x| e_0
            double norm = 0;
            for (int k = i; k < dim; k++) norm += a[k * rank + i] * a[k * rank + i];
            norm = Math.sqrt(norm);
            double x0 = a[i * rank + i];
            int len = dim - i;
            for (int k = 0; k < len; k++) {
                double x = a[(i + k) * rank + i];
                if (k == 0) x += (x0 >= 0 ? 1 : -1) * norm;
                half[at + k] = Float.floatToFloat16((float) x);
                vf[k] = Float.float16ToFloat(half[at + k]);
            }
            // apply the rounded reflector to the remaining columns, as the transform will
            double nn = 0;
            for (int k = 0; k < len; k++) nn += (double) vf[k] * vf[k];
            if (nn > 0) {
                for (int j = i; j < rank; j++) {
                    double d = 0;
                    for (int k = 0; k < len; k++) d += vf[k] * a[(i + k) * rank + j];
                    double f = 2 * d / nn;
                    for (int k = 0; k < len; k++) a[(i + k) * rank + j] -= f * vf[k];
                }
            }
            at += len;
        }
        return new HouseholderBasis(dim, rank, half);
    }

    /** A basis from its stored fp16 values ({@link #stored()}). */
    public static HouseholderBasis restore(int dim, int rank, short[] stored) {
        if (dim <= 0 || rank < 0 || rank > dim || stored.length != storedValues(dim, rank)) {
            throw new IllegalArgumentException("HouseholderBasis: " + stored.length + " values for rank " + rank + " at dim " + dim);
        }
        return new HouseholderBasis(dim, rank, stored.clone());
    }

    public int dim() {
        return dim;
    }

    /** Directions it was fitted to (the leading columns of Q). */
    public int rank() {
        return rank;
    }

    /** The stored fp16 values (a copy), v_0[0..dim), v_1[1..dim), ... */
    public short[] stored() {
        return half.clone();
    }

    /** Bytes the basis takes: its fp16 values. */
    public long bytes() {
        return 2L * half.length;
    }

    /** x[off .. off+dim) := Q^T x. */
    public void forward(float[] x, int off) {
        for (int i = 0; i < rank; i++) reflect(i, x, off);
    }

    /** y[off .. off+dim) := Q y. */
    public void inverse(float[] y, int off) {
        for (int i = rank - 1; i >= 0; i--) reflect(i, y, off);
    }

    private void reflect(int i, float[] x, int off) {
        float t = tau[i];
        if (t == 0f) return;
        float[] vi = v[i];
        int base = off + i;
        float d = 0f;
        for (int k = 0; k < vi.length; k++) d += vi[k] * x[base + k];
        float f = t * d;
        for (int k = 0; k < vi.length; k++) x[base + k] -= f * vi[k];
    }
}
