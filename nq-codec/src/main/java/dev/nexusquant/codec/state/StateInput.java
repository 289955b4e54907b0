package dev.nexusquant.codec.state;

import dev.nexusquant.codec.CodecDescriptor;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;

import static dev.nexusquant.codec.state.StateFormatException.Problem.CORRUPT;
import static dev.nexusquant.codec.state.StateFormatException.Problem.TOO_LARGE;
import static dev.nexusquant.codec.state.StateFormatException.Problem.TRUNCATED;

/**
 * Reads what a {@link StateOutput} wrote, whatever the bytes: every read names its field, every count is checked
 * against the bytes that remain before anything is allocated, and memory that the state asks for beyond the bytes it
 * holds (capacities, spare room) is taken from an allowance ({@link #reserve}), so that no input can make a reader
 * allocate more than its input plus that allowance. Every problem is a {@link StateFormatException}.
 */
public final class StateInput {

    private final byte[] buf;
    private final int end;
    private int at;
    private long allowance;

    /**
     * @param allowance bytes that {@link #reserve} may hand out in all
     */
    public StateInput(byte[] buf, int from, int to, long allowance) {
        if (from < 0 || to < from || to > buf.length) throw new IllegalArgumentException("StateInput: bad range");
        this.buf = buf;
        this.at = from;
        this.end = to;
        this.allowance = allowance;
    }

    public StateInput(byte[] buf, long allowance) {
        this(buf, 0, buf.length, allowance);
    }

    public int remaining() {
        return end - at;
    }

    private void need(String field, long n) throws StateFormatException {
        if (n > end - at) {
            throw new StateFormatException(TRUNCATED, field, "needs " + n + " bytes, " + remaining() + " left");
        }
    }

    /** A {@link StateFormatException} of kind CORRUPT for {@code field}. */
    public static StateFormatException corrupt(String field, String message) {
        return new StateFormatException(CORRUPT, field, message);
    }

    /** Takes {@code bytes} from the allowance: memory a reader is about to allocate beyond what it read. */
    public void reserve(String field, long bytes) throws StateFormatException {
        if (bytes < 0 || bytes > allowance) {
            throw new StateFormatException(TOO_LARGE, field, "asks for " + bytes + " bytes, " + allowance + " allowed");
        }
        allowance -= bytes;
    }

    public int u8(String field) throws StateFormatException {
        need(field, 1);
        return buf[at++] & 0xff;
    }

    public boolean bool(String field) throws StateFormatException {
        int v = u8(field);
        if (v > 1) throw corrupt(field, "a flag must be 0 or 1, is " + v);
        return v == 1;
    }

    public int i32(String field) throws StateFormatException {
        need(field, 4);
        int v = (buf[at] & 0xff) | (buf[at + 1] & 0xff) << 8 | (buf[at + 2] & 0xff) << 16 | (buf[at + 3] & 0xff) << 24;
        at += 4;
        return v;
    }

    public long i64(String field) throws StateFormatException {
        need(field, 8);
        long v = 0;
        for (int i = 0; i < 8; i++) v |= (buf[at + i] & 0xffL) << (8 * i);
        at += 8;
        return v;
    }

    public double f64(String field) throws StateFormatException {
        return Double.longBitsToDouble(i64(field));
    }

    /** An unsigned varint of at most 10 bytes, as a long (may be negative when the 64th bit is set). */
    private long rawVarint(String field) throws StateFormatException {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift > 63) throw corrupt(field, "varint longer than 10 bytes");
            int b = u8(field);
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
    }

    /** An unsigned varint whose value lies in {@code [min, max]}. */
    public long varint(String field, long min, long max) throws StateFormatException {
        long v = rawVarint(field);
        if (v < min || v > max) throw corrupt(field, Long.toUnsignedString(v) + " is outside [" + min + ", " + max + "]");
        return v;
    }

    /** An unsigned varint that fits an int and lies in {@code [min, max]}. */
    public int varint(String field, int min, int max) throws StateFormatException {
        return (int) varint(field, (long) min, (long) max);
    }

    /** A signed (zigzag) varint. */
    public long svarint(String field) throws StateFormatException {
        long v = rawVarint(field);
        return (v >>> 1) ^ -(v & 1);
    }

    /**
     * A count of elements that take at least {@code minBytesEach} bytes each in what follows: at most {@code max}, and
     * no more than the remaining bytes can hold.
     */
    public int count(String field, int max, int minBytesEach) throws StateFormatException {
        int n = varint(field, 0, max);
        if (minBytesEach > 0 && (long) n * minBytesEach > remaining()) {
            throw new StateFormatException(TRUNCATED, field, n + " elements need at least " + (long) n * minBytesEach
                    + " bytes, " + remaining() + " left");
        }
        return n;
    }

    /** A UTF-8 string of at most {@code maxBytes} bytes. */
    public String string(String field, int maxBytes) throws StateFormatException {
        int n = varint(field, 0, maxBytes);
        need(field, n);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(buf, at, n)).toString();
            at += n;
            return s;
        } catch (CharacterCodingException e) {
            throw corrupt(field, "not UTF-8");
        }
    }

    /** {@code n} bytes without a length. */
    public byte[] raw(String field, int n) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, n);
        byte[] b = java.util.Arrays.copyOfRange(buf, at, at + n);
        at += n;
        return b;
    }

    /** A byte array with its length first, at most {@code max} bytes. */
    public byte[] bytes(String field, int max) throws StateFormatException {
        return raw(field, varint(field, 0, max));
    }

    /** {@code n} floats into {@code dst[off ..]}. */
    public void floats(String field, float[] dst, int off, int n) throws StateFormatException {
        need(field, 4L * n);
        for (int i = 0; i < n; i++) {
            int v = (buf[at] & 0xff) | (buf[at + 1] & 0xff) << 8 | (buf[at + 2] & 0xff) << 16 | (buf[at + 3] & 0xff) << 24;
            dst[off + i] = Float.intBitsToFloat(v);
            at += 4;
        }
    }

    /** {@code n} floats in a new array. */
    public float[] floats(String field, int n) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, 4L * n);
        float[] a = new float[n];
        floats(field, a, 0, n);
        return a;
    }

    /** {@code n} shorts into {@code dst[off ..]}. */
    public void shorts(String field, short[] dst, int off, int n) throws StateFormatException {
        need(field, 2L * n);
        for (int i = 0; i < n; i++) {
            dst[off + i] = (short) ((buf[at] & 0xff) | (buf[at + 1] & 0xff) << 8);
            at += 2;
        }
    }

    /** {@code n} varints, each in {@code [0, max]}. */
    public int[] varints(String field, int n, int max) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, n); // at least a byte each
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = varint(field, 0, max);
        return a;
    }

    /** {@code n} strictly ascending positions in {@code [0, max]}, as {@link StateOutput#positions} wrote them. */
    public int[] positions(String field, int n, int max) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, n); // at least a byte each
        int[] p = new int[n];
        long prev = -1;
        for (int i = 0; i < n; i++) {
            long v = prev + 1 + varint(field, 0L, (long) max);
            if (v > max) throw corrupt(field, "position " + v + " exceeds " + max);
            p[i] = (int) v;
            prev = v;
        }
        return p;
    }

    /** {@code len} bytes written by {@link StateOutput#shuffled} with {@code stride}, back in their order. */
    public byte[] shuffled(String field, int len, int stride) throws StateFormatException {
        if (len < 0 || stride <= 0 || len % stride != 0) throw corrupt(field, "length " + len + " is not a multiple of " + stride);
        need(field, len);
        byte[] b = new byte[len];
        int n = len / stride;
        for (int j = 0; j < stride; j++) {
            for (int i = 0; i < n; i++) b[i * stride + j] = buf[at++];
        }
        return b;
    }

    /** {@code n} floats written by {@link StateOutput#shuffledFloats}, into {@code dst[off ..]}. */
    public void shuffledFloats(String field, float[] dst, int off, int n) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, 4L * n);
        byte[] b = shuffled(field, 4 * n, 4);
        for (int i = 0; i < n; i++) {
            dst[off + i] = Float.intBitsToFloat((b[4 * i] & 0xff) | (b[4 * i + 1] & 0xff) << 8 | (b[4 * i + 2] & 0xff) << 16
                    | (b[4 * i + 3] & 0xff) << 24);
        }
    }

    /** {@code n} shorts written by {@link StateOutput#shuffledShorts}, into {@code dst[off ..]}. */
    public void shuffledShorts(String field, short[] dst, int off, int n) throws StateFormatException {
        if (n < 0) throw corrupt(field, "negative length " + n);
        need(field, 2L * n);
        byte[] b = shuffled(field, 2 * n, 2);
        for (int i = 0; i < n; i++) dst[off + i] = (short) ((b[2 * i] & 0xff) | (b[2 * i + 1] & 0xff) << 8);
    }

    /** A codec descriptor as {@link StateOutput#descriptor} wrote it. */
    public CodecDescriptor descriptor(String field) throws StateFormatException {
        String name = string(field + ".name", CodecDescriptor.MAX_NAME);
        int version = varint(field + ".version", 0, Integer.MAX_VALUE);
        int dim = varint(field + ".dimension", 1, 1 << 16);
        int vpb = varint(field + ".vectorsPerBlock", 1, 1 << 16);
        int bpb = varint(field + ".bytesPerBlock", 1, 1 << 24);
        byte[] params = bytes(field + ".parameters", CodecDescriptor.MAX_PARAMETERS);
        try {
            return new CodecDescriptor(name, version, dim, vpb, bpb, params);
        } catch (IllegalArgumentException e) {
            throw corrupt(field, e.getMessage());
        }
    }

    /** Fails unless every byte has been read. */
    public void expectEnd(String field) throws StateFormatException {
        if (at != end) throw corrupt(field, (end - at) + " unread bytes at the end");
    }
}
