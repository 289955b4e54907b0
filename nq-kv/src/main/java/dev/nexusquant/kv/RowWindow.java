package dev.nexusquant.kv;

import java.util.Arrays;

/**
 * The full-precision rows of one (layer, KV head): the prompt while it is being staged, then the recent window.
 * Rows are kept in position order, keys and values as fp32 or fp16.
 */
final class RowWindow {

    private final int dim;
    private final boolean half;
    private float[] k32, v32; // [capacity][dim] when !half
    private short[] k16, v16; // [capacity][dim] when half
    private int[] pos;        // [capacity]
    private int count;

    RowWindow(int dim, boolean half) {
        this.dim = dim;
        this.half = half;
        allocate(0);
    }

    int count() {
        return count;
    }

    int capacity() {
        return pos.length;
    }

    int position(int i) {
        return pos[i];
    }

    /** Bytes held by arrays of the given capacity. */
    long bytesFor(int capacity) {
        long perRow = (half ? 2L : 4L) * 2 * dim + 4;
        return perRow * capacity;
    }

    long bytes() {
        return bytesFor(capacity());
    }

    /** Makes room for {@code capacity} rows, keeping the rows held. */
    void ensureCapacity(int capacity) {
        if (capacity > pos.length) allocate(capacity);
    }

    private void allocate(int capacity) {
        if (half) {
            k16 = k16 == null ? new short[capacity * dim] : Arrays.copyOf(k16, capacity * dim);
            v16 = v16 == null ? new short[capacity * dim] : Arrays.copyOf(v16, capacity * dim);
        } else {
            k32 = k32 == null ? new float[capacity * dim] : Arrays.copyOf(k32, capacity * dim);
            v32 = v32 == null ? new float[capacity * dim] : Arrays.copyOf(v32, capacity * dim);
        }
        pos = pos == null ? new int[capacity] : Arrays.copyOf(pos, capacity);
    }

    /** Appends one row; capacity must have been ensured. */
    void add(int position, float[] k, int kOff, float[] v, int vOff) {
        int o = count * dim;
        if (half) {
            for (int i = 0; i < dim; i++) {
                k16[o + i] = Float.floatToFloat16(k[kOff + i]);
                v16[o + i] = Float.floatToFloat16(v[vOff + i]);
            }
        } else {
            System.arraycopy(k, kOff, k32, o, dim);
            System.arraycopy(v, vOff, v32, o, dim);
        }
        pos[count] = position;
        count++;
    }

    /** Copies keys of rows {@code [from, from+n)} as fp32 into {@code out} ([n][dim]). */
    void keys(int from, int n, float[] out, int outOff) {
        copy(half ? null : k32, half ? k16 : null, from, n, out, outOff);
    }

    /** Copies values of rows {@code [from, from+n)} as fp32 into {@code out} ([n][dim]). */
    void values(int from, int n, float[] out, int outOff) {
        copy(half ? null : v32, half ? v16 : null, from, n, out, outOff);
    }

    private void copy(float[] f, short[] h, int from, int n, float[] out, int outOff) {
        if (f != null) {
            System.arraycopy(f, from * dim, out, outOff, n * dim);
        } else {
            int base = from * dim;
            for (int i = 0, len = n * dim; i < len; i++) out[outOff + i] = Float.float16ToFloat(h[base + i]);
        }
    }

    /** Drops the oldest {@code n} rows. */
    void removeFirst(int n) {
        if (n <= 0) return;
        int rest = count - n;
        if (half) {
            System.arraycopy(k16, n * dim, k16, 0, rest * dim);
            System.arraycopy(v16, n * dim, v16, 0, rest * dim);
        } else {
            System.arraycopy(k32, n * dim, k32, 0, rest * dim);
            System.arraycopy(v32, n * dim, v32, 0, rest * dim);
        }
        System.arraycopy(pos, n, pos, 0, rest);
        count = rest;
    }

    /** Shrinks the arrays to {@code capacity} rows (at least the rows held). */
    void trimTo(int capacity) {
        int c = Math.max(capacity, count);
        if (c < pos.length) {
            if (half) {
                k16 = Arrays.copyOf(k16, c * dim);
                v16 = Arrays.copyOf(v16, c * dim);
            } else {
                k32 = Arrays.copyOf(k32, c * dim);
                v32 = Arrays.copyOf(v32, c * dim);
            }
            pos = Arrays.copyOf(pos, c);
        }
    }
}
