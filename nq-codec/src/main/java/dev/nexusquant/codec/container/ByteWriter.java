package dev.nexusquant.codec.container;

import dev.nexusquant.codec.entropy.Varint;

import java.util.Arrays;

/** A growable little-endian byte buffer. */
final class ByteWriter {

    private byte[] buf;
    private int size;

    ByteWriter(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    int size() {
        return size;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    private void ensure(int more) {
        if (size + (long) more > buf.length) {
            long cap = Math.max(size + (long) more, buf.length * 2L);
            if (cap > Integer.MAX_VALUE - 16) throw new IllegalStateException("container larger than 2 GiB");
            buf = Arrays.copyOf(buf, (int) cap);
        }
    }

    void u8(int v) {
        ensure(1);
        buf[size++] = (byte) v;
    }

    void u16(int v) {
        ensure(2);
        buf[size++] = (byte) v;
        buf[size++] = (byte) (v >>> 8);
    }

    void u32(int v) {
        ensure(4);
        for (int i = 0; i < 4; i++) buf[size++] = (byte) (v >>> (8 * i));
    }

    void u64(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) buf[size++] = (byte) (v >>> (8 * i));
    }

    void f32(float v) {
        u32(Float.floatToRawIntBits(v));
    }

    void f64(double v) {
        u64(Double.doubleToRawLongBits(v));
    }

    void varint(long v) {
        ensure(10);
        size = Varint.write(v, buf, size);
    }

    void bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    void bytes(byte[] b) {
        bytes(b, 0, b.length);
    }

    /** Overwrites 4 bytes at {@code at}. */
    void putU32(int at, int v) {
        for (int i = 0; i < 4; i++) buf[at + i] = (byte) (v >>> (8 * i));
    }

    byte[] array() {
        return buf;
    }
}
