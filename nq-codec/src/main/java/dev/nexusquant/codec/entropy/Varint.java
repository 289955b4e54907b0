package dev.nexusquant.codec.entropy;

/**
 * Unsigned LEB128 variable-length integers (7 bits per byte, high bit = more) and zigzag for signed values: small
 * numbers (position gaps, deltas) take one byte.
 */
public final class Varint {

    private Varint() {
    }

    /** Bytes {@link #write} uses for v (v treated as unsigned). */
    public static int size(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** Writes v (unsigned) at {@code dst[at]}; returns the position after it. */
    public static int write(long v, byte[] dst, int at) {
        while ((v & ~0x7fL) != 0) {
            dst[at++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        dst[at++] = (byte) v;
        return at;
    }

    public static long zigzag(long v) {
        return (v << 1) ^ (v >> 63);
    }

    public static long unzigzag(long v) {
        return (v >>> 1) ^ -(v & 1);
    }
}
