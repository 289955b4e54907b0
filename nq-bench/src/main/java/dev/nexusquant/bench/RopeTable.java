package dev.nexusquant.bench;

import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;

/**
 * Cached cosines and sines of a {@link Rope} for a range of positions, so that RoPE costs a few multiplications per
 * element (for example to re-apply RoPE to keys stored before it, once per key and step).
 *
 * <p>The cosines and sines are computed in double from the exact angles and stored as float; the rotation is done in
 * float. Results agree with {@link Rope} to a few float ulps at every position in the range. Memory:
 * {@code 2 * count * rotaryDims / 2} floats. Immutable and thread-safe.
 */
public final class RopeTable {

    private final RopeParams params;
    private final int headDim;
    private final int half;
    private final long first;
    private final int count;
    /** [count][half] cos(theta_i(first + t)). */
    private final float[] cos;
    /** [count][half] sin(theta_i(first + t)). */
    private final float[] sin;

    public RopeTable(Rope rope, long first, int count) {
        if (count < 0) throw new IllegalArgumentException("RopeTable: count must be >= 0: " + count);
        this.params = rope.params();
        this.headDim = rope.headDim();
        this.half = params.rotaryDims() / 2;
        this.first = first;
        this.count = count;
        long size = (long) count * half;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("RopeTable: " + count + " positions x " + half + " pairs is too large");
        }
        this.cos = new float[(int) size];
        this.sin = new float[(int) size];
        for (int t = 0; t < count; t++) {
            for (int i = 0; i < half; i++) {
                double theta = rope.angle(first + t, i);
                cos[t * half + i] = (float) Math.cos(theta);
                sin[t * half + i] = (float) Math.sin(theta);
            }
        }
    }

    public long firstPosition() {
        return first;
    }

    public int count() {
        return count;
    }

    public boolean contains(long position) {
        return position >= first && position - first < count;
    }

    /** Applies RoPE at {@code position} (inside the table's range) to {@code x[off..off+headDim)}, in place. */
    public void forward(float[] x, int off, long position) {
        rotate(x, off, position, false);
    }

    /** Undoes RoPE at {@code position} (inside the table's range) on {@code x[off..off+headDim)}, in place. */
    public void inverse(float[] x, int off, long position) {
        rotate(x, off, position, true);
    }

    private void rotate(float[] x, int off, long position, boolean inverse) {
        if (!contains(position)) {
            throw new IndexOutOfBoundsException("RopeTable: position " + position + " outside [" + first + ", "
                    + (first + count) + ")");
        }
        if (off < 0 || off > x.length - headDim) {
            throw new IndexOutOfBoundsException("RopeTable: [" + off + ", " + off + " + " + headDim + ") outside " + x.length);
        }
        int row = (int) (position - first) * half;
        if (params.convention() == RopeParams.Convention.HALVES) {
            for (int i = 0; i < half; i++) {
                float c = cos[row + i];
                float s = inverse ? -sin[row + i] : sin[row + i];
                float x0 = x[off + i];
                float x1 = x[off + i + half];
                x[off + i] = x0 * c - x1 * s;
                x[off + i + half] = x0 * s + x1 * c;
            }
        } else {
            for (int i = 0; i < half; i++) {
                float c = cos[row + i];
                float s = inverse ? -sin[row + i] : sin[row + i];
                float x0 = x[off + 2 * i];
                float x1 = x[off + 2 * i + 1];
                x[off + 2 * i] = x0 * c - x1 * s;
                x[off + 2 * i + 1] = x0 * s + x1 * c;
            }
        }
    }
}
