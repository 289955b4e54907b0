package dev.nexusquant.codec.klt;

/**
 * Eigen-decomposition of a real symmetric matrix by the cyclic Jacobi method, in double: plane rotations, each
 * zeroing one off-diagonal entry, swept over every pair until the off-diagonal mass is negligible. Slower than a
 * tridiagonal QR but short, unconditionally stable, and accurate for small eigenvalues too; at the sizes a head has
 * (64 or 128) a decomposition takes tens of milliseconds.
 *
 * @param values  [n] eigenvalues, descending
 * @param vectors [n][n] row-major; column j is the unit eigenvector of values[j] (orthonormal columns)
 */
public record SymmetricEigen(double[] values, double[] vectors) {

    /** Sweeps after which the method gives up converging further (it converges quadratically: ~6-10 suffice). */
    static final int MAX_SWEEPS = 50;

    public int size() {
        return values.length;
    }

    /**
     * Decomposes {@code a} ([n][n], row-major; only symmetric input is meaningful).
     *
     * @throws IllegalArgumentException if a is not square, not symmetric to 1e-9 relative, or holds NaN/infinity
     */
    public static SymmetricEigen of(double[] a, int n) {
        if (n <= 0 || a.length != (long) n * n) throw new IllegalArgumentException("SymmetricEigen: need an n x n matrix, n = " + n + ", length " + a.length);
        double scale = 0;
        for (double x : a) {
            if (!Double.isFinite(x)) throw new IllegalArgumentException("SymmetricEigen: the matrix holds a NaN or infinite value");
            scale = Math.max(scale, Math.abs(x));
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-9 * scale) {
                    throw new IllegalArgumentException("SymmetricEigen: the matrix is not symmetric at (" + i + ", " + j + ")");
                }
            }
        }
        double[] m = a.clone();
        double[] v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++) {
                diag += m[i * n + i] * m[i * n + i];
                for (int j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
            }
            if (off <= 1e-30 * diag || off == 0) break;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) rotate(m, v, n, p, q);
            }
        }
        return sorted(m, v, n);
    }

    /** One Jacobi rotation in the (p, q) plane that zeroes m[p][q] (Golub and Van Loan, the stable form). */
    private static void rotate(double[] m, double[] v, int n, int p, int q) {
        double apq = m[p * n + q];
        if (apq == 0) return;
        double app = m[p * n + p], aqq = m[q * n + q];
        double theta = (aqq - app) / (2 * apq);
        double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        if (theta == 0) t = 1;
        double c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; k++) { // columns p, q of m
            double mkp = m[k * n + p], mkq = m[k * n + q];
            m[k * n + p] = c * mkp - s * mkq;
            m[k * n + q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; k++) { // rows p, q of m
            double mpk = m[p * n + k], mqk = m[q * n + k];
            m[p * n + k] = c * mpk - s * mqk;
            m[q * n + k] = s * mpk + c * mqk;
        }
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (int k = 0; k < n; k++) {
            double vkp = v[k * n + p], vkq = v[k * n + q];
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
        }
    }

    private static SymmetricEigen sorted(double[] m, double[] v, int n) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(m[y * n + y], m[x * n + x]));
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            int src = order[j];
            values[j] = m[src * n + src];
            for (int k = 0; k < n; k++) vectors[k * n + j] = v[k * n + src];
        }
        return new SymmetricEigen(values, vectors);
    }
}
