package dev.nexusquant.codec.hadamard;

import dev.nexusquant.vector.Vectorization;

import java.util.Arrays;

/**
 * A seeded randomized Hadamard rotation {@code R = H D} of vectors of a fixed dimension.
 *
 * <p>{@code D} is a diagonal of random signs drawn from {@code seed}; {@code H} is the orthonormal Walsh-Hadamard
 * matrix ({@code H_n / sqrt(n)}). R is orthogonal, so {@code (Rq)·(Rk) = q·k} and {@code R^-1 = R^T = D H}: queries
 * can be rotated once and scored against rotated keys. The rotation spreads the energy of a few outlier channels over
 * all channels, which makes the coordinates close to Gaussian with equal variance: what a lattice or scalar quantizer
 * is designed for (QuaRot, Ashkboos et al. 2024; QuIP#, Tseng et al. 2024; TurboQuant, Zandieh et al. 2025).
 *
 * <p>Dimensions that are not a power of two use a block-diagonal H: one Hadamard block per set bit of {@code dim},
 * largest first (96 = 64 + 32, 80 = 64 + 16, 72 = 64 + 8). This keeps the blocks as large as possible (a block only
 * mixes the channels inside it); the alternative of equal blocks of the largest power of two dividing {@code dim}
 * (96 = 3 x 32) would mix less. The random signs span the whole vector.
 *
 * <p>The signs: 64 signs per {@link SplitMix64} output, word {@code w = i / 64}, bit {@code i % 64}; a set bit means
 * -1. This sequence is part of the stored format (a container records the seed only) and must never change.
 *
 * <p>{@link #forward} and {@link #inverse} work in place and allocate nothing. Instances are immutable and
 * thread-safe.
 */
public final class HadamardRotation {

    private final int dim;
    private final long seed;
    /** [blocks] sizes, powers of two, largest first, summing to dim. */
    private final int[] blockSizes;
    /** [dim] sign_i / sqrt(size of the block holding i): D and the normalization folded together. */
    private final float[] scaledSigns;
    private final Fwht kernel;

    /** A rotation that uses the vector kernel when the Vector API is available, the scalar one otherwise. */
    public HadamardRotation(int dim, long seed) {
        this(dim, seed, Preferred.KERNEL);
    }

    /** The same rotation computed by the plain scalar loops (the twin that tests compare against). */
    public static HadamardRotation scalar(int dim, long seed) {
        return new HadamardRotation(dim, seed, ScalarFwht.INSTANCE);
    }

    /** The same rotation computed with the Vector API; fails when {@code jdk.incubator.vector} is not present. */
    public static HadamardRotation vectorized(int dim, long seed) {
        if (!Vectorization.enabled()) {
            throw new IllegalStateException("the vector kernels are not used: " + Vectorization.describe());
        }
        return new HadamardRotation(dim, seed, VectorFwht.INSTANCE);
    }

    /** The kernel {@link Vectorization} chooses, once; {@link VectorFwht} loads only when it is chosen. */
    private static final class Preferred {
        static final Fwht KERNEL = Vectorization.choose(ScalarFwht.INSTANCE, () -> VectorFwht.INSTANCE);
    }

    private HadamardRotation(int dim, long seed, Fwht kernel) {
        if (dim <= 0) {
            throw new IllegalArgumentException("HadamardRotation: dim must be positive: " + dim);
        }
        this.dim = dim;
        this.seed = seed;
        this.kernel = kernel;
        this.blockSizes = blockSizesOf(dim);
        this.scaledSigns = new float[dim];
        SplitMix64 rng = new SplitMix64(seed);
        long word = 0;
        int at = 0;
        for (int size : blockSizes) {
            float norm = (float) (1.0 / Math.sqrt(size));
            for (int i = 0; i < size; i++, at++) {
                if ((at & 63) == 0) {
                    word = rng.nextLong();
                }
                scaledSigns[at] = ((word >>> (at & 63)) & 1L) != 0 ? -norm : norm;
            }
        }
    }

    /** The block sizes used for {@code dim}: its set bits, largest first. */
    public static int[] blockSizesOf(int dim) {
        int[] sizes = new int[Integer.bitCount(dim)];
        int k = 0;
        for (int bit = 30; bit >= 0; bit--) {
            if ((dim & (1 << bit)) != 0) {
                sizes[k++] = 1 << bit;
            }
        }
        return sizes;
    }

    /** {@code x[off..off+dim) = H D x}, in place. */
    public void forward(float[] x, int off) {
        checkRange(x, off);
        kernel.multiply(x, off, scaledSigns, dim);
        int at = off;
        for (int size : blockSizes) {
            kernel.transform(x, at, size);
            at += size;
        }
    }

    /** {@code x[off..off+dim) = D H x}, in place: undoes {@link #forward} (up to float rounding). */
    public void inverse(float[] x, int off) {
        checkRange(x, off);
        int at = off;
        for (int size : blockSizes) {
            kernel.transform(x, at, size);
            at += size;
        }
        kernel.multiply(x, off, scaledSigns, dim);
    }

    public int dim() {
        return dim;
    }

    public long seed() {
        return seed;
    }

    /** A copy of the block sizes (largest first). */
    public int[] blockSizes() {
        return blockSizes.clone();
    }

    /** The sign applied to element i before the transform: +1 or -1. */
    public int sign(int i) {
        return scaledSigns[i] < 0 ? -1 : 1;
    }

    private void checkRange(float[] x, int off) {
        if (off < 0 || off > x.length - dim) {
            throw new IndexOutOfBoundsException("HadamardRotation: [" + off + ", " + off + " + " + dim
                    + ") is outside an array of " + x.length);
        }
    }

    @Override
    public String toString() {
        return "HadamardRotation[dim=" + dim + ", seed=" + seed + ", blocks=" + Arrays.toString(blockSizes)
                + ", kernel=" + kernel.getClass().getSimpleName() + "]";
    }
}
