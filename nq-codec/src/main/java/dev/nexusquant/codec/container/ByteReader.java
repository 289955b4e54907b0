package dev.nexusquant.codec.container;

/**
 * A bounds-checked little-endian reader over {@code buf[from..to)}: every read that would pass the end throws a
 * {@link CorruptContainerException} naming the field being read.
 */
final class ByteReader {

    private final byte[] buf;
    private final int end;
    private final String section;
    private int at;

    ByteReader(byte[] buf, int from, int to, String section) {
        this.buf = buf;
        this.at = from;
        this.end = to;
        this.section = section;
    }

    int position() {
        return at;
    }

    int remaining() {
        return end - at;
    }

    private CorruptContainerException truncated(String field, int need) {
        return new CorruptContainerException(section + "." + field, "needs " + need + " bytes, " + remaining() + " left (truncated)");
    }

    private void need(String field, int n) throws CorruptContainerException {
        if (n > end - at) throw truncated(field, n);
    }

    int u8(String field) throws CorruptContainerException {
        need(field, 1);
        return buf[at++] & 0xff;
    }

    int u16(String field) throws CorruptContainerException {
        need(field, 2);
        int v = (buf[at] & 0xff) | (buf[at + 1] & 0xff) << 8;
        at += 2;
        return v;
    }

    int u32(String field) throws CorruptContainerException {
        need(field, 4);
        int v = 0;
        for (int i = 0; i < 4; i++) v |= (buf[at + i] & 0xff) << (8 * i);
        at += 4;
        return v;
    }

    long u64(String field) throws CorruptContainerException {
        need(field, 8);
        long v = 0;
        for (int i = 0; i < 8; i++) v |= (buf[at + i] & 0xffL) << (8 * i);
        at += 8;
        return v;
    }

    float f32(String field) throws CorruptContainerException {
        return Float.intBitsToFloat(u32(field));
    }

    double f64(String field) throws CorruptContainerException {
        return Double.longBitsToDouble(u64(field));
    }

    /** A u32 that must lie in [min, max]. */
    int u32In(String field, long min, long max) throws CorruptContainerException {
        long v = u32(field) & 0xffffffffL;
        if (v < min || v > max) throw new CorruptContainerException(section + "." + field, v + " is outside [" + min + ", " + max + "]");
        return (int) v;
    }

    /** An unsigned varint of at most 5 bytes whose value lies in [0, max]. */
    int varint(String field, int max) throws CorruptContainerException {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift > 28) throw new CorruptContainerException(section + "." + field, "varint longer than 5 bytes");
            int b = u8(field);
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (v > max) throw new CorruptContainerException(section + "." + field, v + " exceeds " + max);
        return (int) v;
    }

    byte[] bytes(String field, int n) throws CorruptContainerException {
        if (n < 0) throw new CorruptContainerException(section + "." + field, "negative length " + n);
        need(field, n);
        byte[] b = java.util.Arrays.copyOfRange(buf, at, at + n);
        at += n;
        return b;
    }

    void expectEnd() throws CorruptContainerException {
        if (at != end) throw new CorruptContainerException(section, (end - at) + " unread bytes at the end");
    }
}
