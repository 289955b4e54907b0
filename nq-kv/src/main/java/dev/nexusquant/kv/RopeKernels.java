package dev.nexusquant.kv;

import dev.nexusquant.vector.Vectorization;

/**
 * RoPE of many rows at their positions from a {@link RopeAngles}'s tables (what attention runs per stored key when
 * keys are kept with RoPE undone). Two twins compute the same bits: {@link #SCALAR} (the tables' own row rotation,
 * row by row) and {@code VectorRopeKernels} (the same double-precision products and sums, a vector of pairs at a
 * time, rounded to float once, as the scalar rotation does).
 */
interface RopeKernels {

    /** Row by row through {@link RopeAngles#forward}. */
    RopeKernels SCALAR = (t, x, n, dim, pos) -> {
        for (int r = 0; r < n; r++) t.forward(x, r * dim, pos[r]);
    };

    /**
     * {@code x[r] := R(pos[r]) x[r]} for the rows of {@code x}.
     *
     * @param x   [n][dim] rows from 0
     * @param pos [n] their positions
     */
    void forwardRows(RopeAngles t, float[] x, int n, int dim, int[] pos);

    /** The twin {@link Vectorization} chooses, decided once. */
    static RopeKernels preferred() {
        return Preferred.KERNELS;
    }

    /** {@code VectorRopeKernels} is named only inside the supplier, so it loads only when chosen. */
    final class Preferred {
        static final RopeKernels KERNELS = Vectorization.choose(SCALAR, () -> VectorRopeKernels.INSTANCE);

        private Preferred() {
        }
    }
}
