package dev.nexusquant.codec.state;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.entropy.Varint;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Where a cache writes its saved state: a growable little-endian buffer with the few shapes state is made of
 * (numbers, arrays, strings, codec descriptors, ascending positions delta-coded as varints). {@link StateInput}
 * reads each of them back with every length checked.
 */
public final class StateOutput {

    private byte[] buf;
    private int size;

    public StateOutput() {
        this(1 << 12);
    }

    public StateOutput(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    /** Bytes written so far. */
    public int size() {
        return size;
    }

    /** A copy of the bytes written. */
    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    private void ensure(long more) {
        if (size + more > buf.length) {
            long cap = Math.max(size + more, buf.length * 2L);
            if (cap > Integer.MAX_VALUE - 16) throw new IllegalStateException("saved state larger than 2 GiB");
            buf = Arrays.copyOf(buf, (int) cap);
        }
    }

    public StateOutput u8(int v) {
        ensure(1);
        buf[size++] = (byte) v;
        return this;
    }

    public StateOutput bool(boolean v) {
        return u8(v ? 1 : 0);
    }

    public StateOutput i32(int v) {
        ensure(4);
        for (int i = 0; i < 4; i++) buf[size++] = (byte) (v >>> (8 * i));
        return this;
    }

    public StateOutput i64(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) buf[size++] = (byte) (v >>> (8 * i));
        return this;
    }

    public StateOutput f64(double v) {
        return i64(Double.doubleToRawLongBits(v));
    }

    /** An unsigned varint (1 to 10 bytes); {@code v} must not be negative. */
    public StateOutput varint(long v) {
        if (v < 0) throw new IllegalArgumentException("varint of a negative value: " + v);
        ensure(10);
        size = Varint.write(v, buf, size);
        return this;
    }

    /** A signed varint (zigzag). */
    public StateOutput svarint(long v) {
        ensure(10);
        size = Varint.write(Varint.zigzag(v), buf, size);
        return this;
    }

    /** A UTF-8 string, its byte length first. */
    public StateOutput string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        varint(b.length);
        return raw(b, 0, b.length);
    }

    /** Bytes without a length (the reader must know it). */
    public StateOutput raw(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
        return this;
    }

    /** A byte array, its length first. */
    public StateOutput bytes(byte[] b) {
        varint(b.length);
        return raw(b, 0, b.length);
    }

    /** {@code n} floats, bit for bit, without a length. */
    public StateOutput floats(float[] a, int off, int n) {
        ensure(4L * n);
        for (int i = 0; i < n; i++) {
            int v = Float.floatToRawIntBits(a[off + i]);
            buf[size] = (byte) v;
            buf[size + 1] = (byte) (v >>> 8);
            buf[size + 2] = (byte) (v >>> 16);
            buf[size + 3] = (byte) (v >>> 24);
            size += 4;
        }
        return this;
    }

    /** {@code n} shorts (fp16 values), without a length. */
    public StateOutput shorts(short[] a, int off, int n) {
        ensure(2L * n);
        for (int i = 0; i < n; i++) {
            buf[size++] = (byte) a[off + i];
            buf[size++] = (byte) (a[off + i] >>> 8);
        }
        return this;
    }

    /** {@code n} non-negative ints as varints, without a length. */
    public StateOutput varints(int[] a, int off, int n) {
        for (int i = 0; i < n; i++) varint(a[off + i]);
        return this;
    }

    /**
     * {@code n} strictly ascending non-negative positions, delta-coded: the first as a varint, then each gap minus
     * one (consecutive positions take one byte each). Without a length.
     */
    public StateOutput positions(int[] p, int off, int n) {
        int prev = -1;
        for (int i = 0; i < n; i++) {
            int v = p[off + i];
            if (v <= prev) throw new IllegalArgumentException("positions must ascend: " + v + " after " + prev);
            varint((long) v - prev - 1);
            prev = v;
        }
        return this;
    }

    /**
     * {@code len} bytes (a multiple of {@code stride}) byte-shuffled, without a length: byte {@code j} of every
     * {@code stride}-byte element, then byte {@code j + 1}, ... (the exponent bytes of floats, the scale bytes of coded
     * blocks end up side by side, where zstd finds their redundancy).
     */
    public StateOutput shuffled(byte[] b, int off, int len, int stride) {
        if (stride <= 0 || len % stride != 0) throw new IllegalArgumentException("length " + len + " is not a multiple of " + stride);
        ensure(len);
        int n = len / stride;
        for (int j = 0; j < stride; j++) {
            for (int i = 0; i < n; i++) buf[size++] = b[off + i * stride + j];
        }
        return this;
    }

    /** {@code n} floats, bit for bit, byte-shuffled (see {@link #shuffled}), without a length. */
    public StateOutput shuffledFloats(float[] a, int off, int n) {
        byte[] b = new byte[4 * n];
        for (int i = 0; i < n; i++) {
            int v = Float.floatToRawIntBits(a[off + i]);
            b[4 * i] = (byte) v;
            b[4 * i + 1] = (byte) (v >>> 8);
            b[4 * i + 2] = (byte) (v >>> 16);
            b[4 * i + 3] = (byte) (v >>> 24);
        }
        return shuffled(b, 0, b.length, 4);
    }

    /** {@code n} shorts, byte-shuffled, without a length. */
    public StateOutput shuffledShorts(short[] a, int off, int n) {
        byte[] b = new byte[2 * n];
        for (int i = 0; i < n; i++) {
            b[2 * i] = (byte) a[off + i];
            b[2 * i + 1] = (byte) (a[off + i] >>> 8);
        }
        return shuffled(b, 0, b.length, 2);
    }

    /** A codec descriptor: name, version, dimension, block shape and parameters. */
    public StateOutput descriptor(CodecDescriptor d) {
        string(d.name());
        varint(d.version());
        varint(d.dimension());
        varint(d.vectorsPerBlock());
        varint(d.bytesPerBlock());
        return bytes(d.parameters());
    }
}
