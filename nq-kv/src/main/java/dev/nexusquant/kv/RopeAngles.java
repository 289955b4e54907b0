package dev.nexusquant.kv;

import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;

import java.util.concurrent.ConcurrentHashMap;

/**
 * RoPE at any position from two tables of cosines and sines, by angle addition: position {@code p = FINE * b + t}
 * turns pair i by {@code θ_i(FINE b) + θ_i(t)}, whose cosine and sine are four products of the two tables' entries
 * (each computed in double from the exact angle, as {@link Rope} computes them). It replaces a sine and a cosine per
 * pair and call: what attention pays per stored key when keys are kept with RoPE undone (each key is turned back to
 * its position for every query). The rotation is done in double and rounded to float once, as {@link Rope} does; the
 * result agrees with it to float rounding.
 *
 * <p>One instance per RoPE configuration and head size, shared by every cache of the process (the fine table is
 * {@code FINE x pairs} doubles twice, 128 KiB at head_dim 128; the coarse one grows with the largest position seen,
 * 1 KiB per {@code FINE} positions). Thread-safe.
 */
final class RopeAngles implements PositionalRotation {

    static final int FINE_BITS = 7;
    static final int FINE = 1 << FINE_BITS;

    private record Key(RopeParams params, int headDim) {
    }

    private static final ConcurrentHashMap<Key, RopeAngles> SHARED = new ConcurrentHashMap<>();

    private static final RopeKernels KERNELS = RopeKernels.preferred();

    private final Rope rope;
    private final int half;
    private final RopeParams.Convention convention; // which elements pair up (first(i), second(i))
    private final double[] fineCos; // [FINE][half] cos θ_i(t)
    private final double[] fineSin; // [FINE][half] sin θ_i(t)
    private volatile double[][] coarse = new double[0][]; // [blocks][2 * half] cos, then sin, of θ_i(FINE b)

    private RopeAngles(Rope rope) {
        this.rope = rope;
        RopeParams p = rope.params();
        this.half = p.rotaryDims() / 2;
        this.convention = p.convention();
        this.fineCos = new double[FINE * half];
        this.fineSin = new double[FINE * half];
        for (int t = 0; t < FINE; t++) {
            for (int i = 0; i < half; i++) {
                double a = rope.angle(t, i);
                fineCos[t * half + i] = Math.cos(a);
                fineSin[t * half + i] = Math.sin(a);
            }
        }
    }

    /** The shared instance for this configuration. */
    static RopeAngles of(RopeParams params, int headDim) {
        return SHARED.computeIfAbsent(new Key(params, headDim), k -> new RopeAngles(new Rope(k.params(), k.headDim())));
    }

    @Override
    public void forward(float[] x, int off, int pos) {
        rotate(x, off, pos, 1.0);
    }

    @Override
    public void inverse(float[] x, int off, int pos) {
        rotate(x, off, pos, -1.0);
    }

    private void rotate(float[] x, int off, int pos, double direction) {
        if (pos < 0) { // not a cache position: the exact rotation
            if (direction > 0) rope.forward(x, off, pos);
            else rope.inverse(x, off, pos);
            return;
        }
        KERNELS.rotate(convention, half, x, off, block(pos >>> FINE_BITS), fineCos, fineSin, (pos & (FINE - 1)) * half,
                direction);
    }

    /** The coarse entry of block {@code b}, the table grown (doubled, at least to b) when it has none yet. */
    private double[] block(int b) {
        double[][] c = coarse;
        if (b < c.length) return c[b];
        synchronized (this) {
            c = coarse;
            if (b < c.length) return c[b];
            double[][] g = java.util.Arrays.copyOf(c, Math.max(b + 1, 2 * c.length));
            for (int k = c.length; k < g.length; k++) {
                double[] e = new double[2 * half];
                for (int i = 0; i < half; i++) {
                    double a = rope.angle((long) k * FINE, i);
                    e[i] = Math.cos(a);
                    e[half + i] = Math.sin(a);
                }
                g[k] = e;
            }
            coarse = g;
            return g[b];
        }
    }
}
