package dev.nexusquant.codec.klt;

import dev.nexusquant.codec.e8.E8MixedCodec;

import java.util.HashMap;
import java.util.Map;

/**
 * A decorrelating transform (KLT / PCA) of one head's rows, fitted from the rows themselves, with the variance of its
 * coefficients: the basis of transform coding. The principal directions (eigenvectors of the rows' second-moment
 * matrix, eigenvalues descending) are held as a {@link HouseholderBasis} of rank {@code 8 * groups}, so the transform
 * is a complete orthonormal one and rows of any codec can be stored in its domain; coefficients come in groups of
 * eight of decreasing variance, and {@link #codecFor} gives each group its rate by reverse water-filling
 * ({@link WaterFilling}) for a given row budget.
 *
 * <p>The rank is chosen at fit time by the same water-filling with the basis's own cost counted: a group's eight
 * reflectors cost about {@code 16 dim} bytes, shared by the rows the basis is fitted for; groups whose variance does
 * not pay for that are dropped (their coefficients are not stored), and the bytes per row the basis takes
 * ({@link #reserve}) are subtracted from every row budget, so that rows and basis together stay within the budget.
 *
 * <p>What is stored (and saved): the reflectors in fp16, the group standard deviations (fp32), the reserve.
 * Immutable apart from a cache of codecs; thread-safe.
 */
public final class KltBasis {

    private final HouseholderBasis basis;
    private final float[] sigma; // [rank / 8] standard deviation per value of each coded group
    private volatile float[] columns; // [dim][dim] the explicit transform, made at the first inverseRows
    private volatile float[] rowsOfQ; // [dim][dim] row i of Q at i * dim (column i of Q^T), made at the first forwardRows
    private final int reserve;   // bytes per row the basis takes out of every row budget
    private final Map<Integer, E8MixedCodec> codecs = new HashMap<>();

    private KltBasis(HouseholderBasis basis, float[] sigma, int reserve) {
        this.basis = basis;
        this.sigma = sigma;
        this.reserve = reserve;
    }

    /**
     * Fits the transform to {@code n} rows ({@code x}: [n][dim], centred if they should be).
     *
     * @param rowBytes bytes per row of the reference codec (an E8 codec with one fp16 scale: 2 + code bytes)
     * @param rows     rows the basis will serve at first (its cost is shared by them, ≥ 1), or 0 for a basis shared
     *                 by every prompt (one per model, stored beside it): then every direction with a variance is kept
     *                 and nothing is charged to the rows
     */
    public static KltBasis fit(float[] x, int n, int dim, int rowBytes, int rows) {
        if (dim <= 0 || dim % 8 != 0) throw new IllegalArgumentException("KltBasis: dim must be a positive multiple of 8: " + dim);
        if (rows < 0) throw new IllegalArgumentException("KltBasis: negative row count " + rows);
        if (n < 0 || (long) n * dim > x.length) throw new IllegalArgumentException("KltBasis: " + n + " rows of " + dim + " in " + x.length + " values");
        double[] c = new double[dim * dim];
        for (int r = 0; r < n; r++) {
            int o = r * dim;
            for (int i = 0; i < dim; i++) {
                double xi = x[o + i];
                if (!Double.isFinite(xi)) throw new IllegalArgumentException("KltBasis: row " + r + " holds a NaN or infinite value");
                if (xi == 0) continue;
                for (int j = i; j < dim; j++) c[i * dim + j] += xi * x[o + j];
            }
        }
        for (int i = 0; i < dim; i++) {
            for (int j = i; j < dim; j++) {
                c[i * dim + j] /= Math.max(1, n);
                c[j * dim + i] = c[i * dim + j];
            }
        }
        SymmetricEigen e = SymmetricEigen.of(c, dim);
        int groups = dim / 8;
        double[] variance = new double[groups];
        for (int g = 0; g < groups; g++) {
            double s = 0;
            for (int i = 0; i < 8; i++) s += Math.max(0, e.values()[8 * g + i]);
            variance[g] = s / 8;
            float sg = (float) Math.sqrt(variance[g]);
            if (!(sg > 0f) || !Float.isFinite(sg)) variance[g] = 0; // too small for a float scale: not coded
        }
        int open;
        if (rows == 0) { // a shared basis (per model): every direction with a variance, nothing charged to the rows
            open = 0;
            while (open < groups && variance[open] > 0) open++;
        } else {
            double groupBytes = 2.0 * (HouseholderBasis.storedValues(dim, 8) + 4); // ~8 reflectors + sigma, per group
            byte[] rates = WaterFilling.rates(variance, Math.max(0, rowBytes - 2), groupBytes / rows);
            open = WaterFilling.opened(rates);
        }
        HouseholderBasis h = HouseholderBasis.fit(e.vectors(), dim, dim, 8 * open);
        float[] sigma = new float[open];
        for (int g = 0; g < open; g++) sigma[g] = (float) Math.sqrt(variance[g]);
        long bytes = h.bytes() + 4L * open;
        int reserve = rows == 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (bytes + rows - 1) / rows);
        return new KltBasis(h, sigma, reserve);
    }

    /** A basis from its saved parts ({@link #stored()}, {@link #sigmas()}, {@link #reserve()}). */
    public static KltBasis restore(int dim, short[] stored, float[] sigma, int reserve) {
        if (reserve < 0) throw new IllegalArgumentException("KltBasis: negative reserve " + reserve);
        HouseholderBasis h = HouseholderBasis.restore(dim, 8 * sigma.length, stored);
        for (int g = 0; g < sigma.length; g++) {
            if (!(sigma[g] > 0f) || !Float.isFinite(sigma[g])) throw new IllegalArgumentException("KltBasis: group " + g + " sigma " + sigma[g]);
        }
        return new KltBasis(h, sigma.clone(), reserve);
    }

    /**
     * The same transform with nothing taken out of the row budgets: for a basis whose bytes are counted in a budget
     * of its own (a byte-budget plan spends them beside the rows), so that {@link #codecFor} spends every byte of a row
     * budget on codes.
     */
    public KltBasis withoutReserve() {
        return reserve == 0 ? this : new KltBasis(basis, sigma, 0);
    }

    public int dim() {
        return basis.dim();
    }

    /** Coefficients coded (a multiple of 8). */
    public int rank() {
        return basis.rank();
    }

    public short[] stored() {
        return basis.stored();
    }

    public float[] sigmas() {
        return sigma.clone();
    }

    public int reserve() {
        return reserve;
    }

    /** Bytes held: the fp16 reflectors and the fp32 group deviations. */
    public long bytes() {
        return basis.bytes() + 4L * sigma.length;
    }

    /** x[off .. off+dim) := the coefficients of x (Q^T x). */
    public void forward(float[] x, int off) {
        basis.forward(x, off);
    }

    /** y[off .. off+dim) := the row of coefficients y (Q y). */
    public void inverse(float[] y, int off) {
        basis.inverse(y, off);
    }

    /**
     * Rows of coefficients back to rows, in place, by the explicit matrix of the transform ({@link KltKernels}: the
     * vector kernels where the Vector API is used): the same rows as {@link #inverse} to float rounding, at
     * {@code 2 c dim} flops per row for c nonzero coefficients. The matrix ([dim][dim] floats, 64 KiB at head_dim 128) is
     * made at the first call and kept: heap derived from the basis, like the float copy of its reflectors.
     *
     * @param y    [n][dim] at {@code off}
     * @param work [dim] scratch, or [2 * dim] / [3 * dim] to take the rows two / three at a time (faster; see
     *             {@link KltKernels#inverse} and {@link #rowsScratch})
     */
    public void inverseRows(float[] y, int off, int n, float[] work) {
        KltKernels.preferred().inverse(columns(), basis.dim(), y, off, n, work);
    }

    /** Floats of the scratch {@link #inverseRows} runs fastest with at this head size (rows per pass times dim). */
    public static int rowsScratch(int dim) {
        return KltKernels.preferred().rowsPerPass() * dim;
    }

    /**
     * Rows to their coefficients, in place, by the explicit matrix: {@code y = Q^T x = Σ_i x_i (row i of Q)}, the
     * kernels of {@link #inverseRows} with the transposed matrix (a second [dim][dim] array, made at the first call);
     * the same coefficients as {@link #forward} to float rounding, at {@code 2 dim²} flops per row in the vector
     * kernels against {@code 4 r dim} in scalar reflections. What attention runs once per query head and call when
     * keys are stored as they come (post-RoPE) in this basis.
     *
     * @param x    [n][dim] at {@code off}
     * @param work [dim] or [2 * dim] scratch, as for {@link #inverseRows}
     */
    public void forwardRows(float[] x, int off, int n, float[] work) {
        KltKernels.preferred().inverse(rowsOfQ(), basis.dim(), x, off, n, work);
    }

    /** [dim][dim] row i of Q at {@code i * dim}: the columns of Q^T, made once from {@link #columns()}. */
    float[] rowsOfQ() {
        float[] t = rowsOfQ;
        if (t == null) {
            int dim = basis.dim();
            float[] c = columns();
            t = new float[dim * dim];
            for (int j = 0; j < dim; j++) {
                for (int i = 0; i < dim; i++) t[i * dim + j] = c[j * dim + i];
            }
            rowsOfQ = t; // a racing thread makes the same array: either may be kept
        }
        return t;
    }

    /** [dim][dim] column j of Q (Q e_j) at {@code j * dim}, made once. */
    float[] columns() {
        float[] c = columns;
        if (c == null) {
            int dim = basis.dim();
            c = new float[dim * dim];
            for (int j = 0; j < dim; j++) {
                c[j * dim + j] = 1f;
                basis.inverse(c, j * dim);
            }
            columns = c; // a racing thread makes the same array: either may be kept
        }
        return c;
    }

    /**
     * The codec of this basis's coefficients that spends {@code rowBytes - 2 - reserve} code bytes per row (the row
     * budget of a reference codec of {@code rowBytes} bytes per row) by reverse water-filling over the coded groups.
     */
    public synchronized E8MixedCodec codecFor(int rowBytes) {
        return codecs.computeIfAbsent(rowBytes, b -> {
            int dim = basis.dim();
            double[] variance = new double[sigma.length];
            for (int g = 0; g < sigma.length; g++) variance[g] = (double) sigma[g] * sigma[g];
            byte[] r = WaterFilling.rates(variance, Math.max(0, b - 2 - reserve), 0);
            byte[] rates = new byte[dim / 8];
            float[] s = new float[dim / 8];
            for (int g = 0; g < sigma.length; g++) {
                rates[g] = r[g];
                s[g] = sigma[g];
            }
            for (int g = sigma.length; g < s.length; g++) s[g] = 1f;
            return new E8MixedCodec(dim, rates, s);
        });
    }
}
