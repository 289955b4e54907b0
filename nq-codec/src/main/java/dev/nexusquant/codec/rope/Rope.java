package dev.nexusquant.codec.rope;

/**
 * Exact forward and inverse rotary position embedding for one head vector.
 *
 * <p>Angles, their cosines and sines and the rotation itself are computed in double and rounded to float once, so
 * {@code inverse(forward(k, p), p)} equals {@code k} to float rounding (about one ulp of the pair's norm) at any
 * position, including positions in the millions where a float angle would be off by a large fraction of a radian.
 * The inverse is how the codec stores keys before RoPE (KVQuant, Hooper et al. 2024: pre-RoPE keys have stable
 * per-channel statistics) and how kept tokens can be given new positions after eviction (StreamingLLM, Xiao et al.
 * 2024).
 *
 * <p>This computes a sine and a cosine per pair and call (a table of them for a range of positions was measured
 * faster, see nq-bench's {@code RopeTable}, but the cache does not need it).
 * Instances are immutable and thread-safe.
 */
public final class Rope {

    private final RopeParams params;
    private final int headDim;
    /** [rotaryDims / 2] base^(-2i / rotaryDims) / linearScale. */
    private final double[] frequency;

    public Rope(RopeParams params, int headDim) {
        if (params == null) throw new IllegalArgumentException("Rope: params is null");
        if (params.rotaryDims() > headDim) {
            throw new IllegalArgumentException("Rope: rotaryDims " + params.rotaryDims() + " > headDim " + headDim);
        }
        this.params = params;
        this.headDim = headDim;
        int half = params.rotaryDims() / 2;
        this.frequency = new double[half];
        for (int i = 0; i < half; i++) {
            frequency[i] = params.inverseFrequency(i) / params.linearScale();
        }
    }

    public RopeParams params() {
        return params;
    }

    public int headDim() {
        return headDim;
    }

    /** The rotation angle of pair i at a position, in radians. */
    public double angle(long position, int i) {
        return position * frequency[i];
    }

    /** Applies RoPE at {@code position} to {@code x[off..off+headDim)}, in place. */
    public void forward(float[] x, int off, long position) {
        rotate(x, off, position, 1.0);
    }

    /** Undoes RoPE at {@code position} on {@code x[off..off+headDim)}, in place (rotation by the negated angles). */
    public void inverse(float[] x, int off, long position) {
        rotate(x, off, position, -1.0);
    }

    private void rotate(float[] x, int off, long position, double direction) {
        if (off < 0 || off > x.length - headDim) {
            throw new IndexOutOfBoundsException("Rope: [" + off + ", " + off + " + " + headDim + ") outside " + x.length);
        }
        for (int i = 0; i < frequency.length; i++) {
            double theta = position * frequency[i];
            double c = Math.cos(theta);
            double s = direction * Math.sin(theta);
            int a = off + params.first(i);
            int b = off + params.second(i);
            double x0 = x[a];
            double x1 = x[b];
            x[a] = (float) (x0 * c - x1 * s);
            x[b] = (float) (x0 * s + x1 * c);
        }
    }
}
