package dev.nexusquant.codec.state;

import dev.nexusquant.codec.entropy.Zstd;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.zip.CRC32C;

import static dev.nexusquant.codec.state.StateFormatException.Problem.CORRUPT;
import static dev.nexusquant.codec.state.StateFormatException.Problem.TOO_LARGE;
import static dev.nexusquant.codec.state.StateFormatException.Problem.TRUNCATED;
import static dev.nexusquant.codec.state.StateFormatException.Problem.UNSUPPORTED_VERSION;

/**
 * The versioned envelope of saved state (a saved session): a small header that can be read alone (what the state is
 * and whom it belongs to) and a payload (the state itself), zstd-compressed, each under a CRC32C. Little-endian:
 * <pre>
 *   u32 magic "NQSS"   u16 version   u16 flags (bit 0: payload is zstd)
 *   u32 headerLength   header[headerLength]   u32 crc32c(magic .. header)
 *   u64 payloadLength (decoded)   u64 storedLength   u32 crc32c(decoded payload)   u32 crc32c(stored payload)
 *   u32 crc32c(the 24 bytes before)   stored payload[storedLength]                 end of the stream
 * </pre>
 * Reading checks each CRC before it trusts what it covers, checks every length against the reader's limit before it
 * allocates, and grows buffers only as bytes actually arrive (a truncated stream that claims a large length never
 * makes the reader allocate it). Every problem is a {@link StateFormatException}; I/O errors of the stream pass
 * through as they are.
 */
public final class StateContainer {

    /** "NQSS" as a little-endian u32. */
    public static final int MAGIC = 'N' | 'Q' << 8 | 'S' << 16 | 'S' << 24;
    /** The format version this class writes and reads. */
    public static final int VERSION = 1;
    /** The largest header: 16 MiB. */
    public static final int MAX_HEADER = 16 << 20;
    static final int FLAG_ZSTD = 1;
    /** Bytes of the lengths block. */
    static final int LENGTHS = 28;

    private StateContainer() {
    }

    /** What a container holds. {@code storedBytes} is the container's whole size. */
    public record Contents(int version, byte[] header, byte[] payload, long storedBytes, boolean compressed) {
    }

    /** The default limit on a decoded payload: 1 GiB or a quarter of the maximum heap, whichever is smaller. */
    public static long defaultLimit() {
        return Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4);
    }

    /**
     * Writes a container; the payload is zstd-compressed when {@code compress}, zstd is available and it gets
     * smaller.
     *
     * @return bytes written
     */
    public static long write(OutputStream out, byte[] header, byte[] payload, boolean compress) throws IOException {
        if (header.length > MAX_HEADER) throw new IllegalArgumentException("state header larger than " + MAX_HEADER + " bytes");
        byte[] stored = payload;
        int flags = 0;
        if (compress && Zstd.available()) {
            byte[] z = Zstd.compress(payload, 0, payload.length);
            if (z.length < payload.length) {
                stored = z;
                flags |= FLAG_ZSTD;
            }
        }
        byte[] head = new byte[12 + header.length + 4];
        putU32(head, 0, MAGIC);
        putU16(head, 4, VERSION);
        putU16(head, 6, flags);
        putU32(head, 8, header.length);
        System.arraycopy(header, 0, head, 12, header.length);
        putU32(head, 12 + header.length, crc(head, 0, 12 + header.length));
        byte[] lengths = new byte[LENGTHS];
        putU64(lengths, 0, payload.length);
        putU64(lengths, 8, stored.length);
        putU32(lengths, 16, crc(payload, 0, payload.length));
        putU32(lengths, 20, crc(stored, 0, stored.length));
        putU32(lengths, 24, crc(lengths, 0, 24));
        out.write(head);
        out.write(lengths);
        out.write(stored);
        return (long) head.length + lengths.length + stored.length;
    }

    /** The container as bytes. */
    public static byte[] toBytes(byte[] header, byte[] payload, boolean compress) {
        var bytes = new java.io.ByteArrayOutputStream(payload.length / 2 + header.length + 64);
        try {
            write(bytes, header, payload, compress);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Reads the header alone (checked against its CRC); the stream is left after the header's CRC. */
    public static byte[] readHeader(InputStream in) throws IOException {
        return readHead(in)[0];
    }

    /** Reads a whole container from bytes. */
    public static Contents read(byte[] data, long limit) throws IOException {
        return read(new ByteArrayInputStream(data), limit);
    }

    /**
     * Reads a whole container, which must end the stream.
     *
     * @param limit the largest decoded payload accepted (bytes)
     */
    public static Contents read(InputStream in, long limit) throws IOException {
        byte[][] head = readHead(in);
        byte[] header = head[0];
        int version = head[1][0] & 0xff | (head[1][1] & 0xff) << 8;
        int flags = head[1][2] & 0xff | (head[1][3] & 0xff) << 8;
        byte[] lengths = readFully(in, LENGTHS, "lengths");
        if (getU32(lengths, 24) != crc(lengths, 0, 24)) {
            throw new StateFormatException(CORRUPT, "lengths.crc", "checksum mismatch");
        }
        long payloadLength = getU64(lengths, 0), storedLength = getU64(lengths, 8);
        long max = Math.min(limit, Integer.MAX_VALUE - 16);
        if (payloadLength < 0 || payloadLength > max) {
            throw new StateFormatException(TOO_LARGE, "lengths.payload", "decoded payload of " + Long.toUnsignedString(payloadLength)
                    + " bytes exceeds the limit of " + max);
        }
        boolean zstd = (flags & FLAG_ZSTD) != 0;
        if (storedLength < 0 || storedLength > max || (!zstd && storedLength != payloadLength)) {
            throw new StateFormatException(CORRUPT, "lengths.stored", "stored length " + Long.toUnsignedString(storedLength)
                    + " does not fit a payload of " + payloadLength + " bytes");
        }
        byte[] stored = readFully(in, (int) storedLength, "payload");
        if (in.read() != -1) throw new StateFormatException(CORRUPT, "end", "bytes after the end of the container");
        if (getU32(lengths, 20) != crc(stored, 0, stored.length)) { // the decoder only ever sees intact frames
            throw new StateFormatException(CORRUPT, "stored.crc", "checksum mismatch");
        }
        byte[] payload;
        if (zstd) {
            payload = new byte[(int) payloadLength];
            try {
                Zstd.decompress(stored, 0, stored.length, payload);
            } catch (IOException e) {
                throw new StateFormatException(CORRUPT, "payload", e.getMessage());
            }
        } else {
            payload = stored;
        }
        if (getU32(lengths, 16) != crc(payload, 0, payload.length)) {
            throw new StateFormatException(CORRUPT, "payload.crc", "checksum mismatch");
        }
        long total = 12L + header.length + 4 + LENGTHS + storedLength;
        return new Contents(version, header, payload, total, zstd);
    }

    /** [0] the header, [1] version and flags (4 bytes). */
    private static byte[][] readHead(InputStream in) throws IOException {
        byte[] prefix = readFully(in, 12, "prefix");
        int magic = getU32(prefix, 0);
        if (magic != MAGIC) {
            throw new StateFormatException(CORRUPT, "magic", String.format("0x%08x is not \"NQSS\": not a saved NexusQuant session", magic));
        }
        int version = prefix[4] & 0xff | (prefix[5] & 0xff) << 8;
        int flags = prefix[6] & 0xff | (prefix[7] & 0xff) << 8;
        long headerLength = getU32(prefix, 8) & 0xffffffffL;
        if (headerLength > MAX_HEADER) {
            // a version this reader does not know may lay its header out differently: say so before "corrupt"
            if (version != VERSION) throw unsupported(version);
            throw new StateFormatException(CORRUPT, "headerLength", headerLength + " exceeds " + MAX_HEADER);
        }
        byte[] header = readFully(in, (int) headerLength, "header");
        byte[] crcBytes = readFully(in, 4, "header.crc");
        CRC32C c = new CRC32C();
        c.update(prefix);
        c.update(header);
        if (getU32(crcBytes, 0) != (int) c.getValue()) {
            if (version != VERSION) throw unsupported(version);
            throw new StateFormatException(CORRUPT, "header.crc", "checksum mismatch");
        }
        if (version != VERSION) throw unsupported(version);
        if ((flags & ~FLAG_ZSTD) != 0) throw new StateFormatException(CORRUPT, "flags", "unknown bits 0x" + Integer.toHexString(flags));
        return new byte[][]{header, Arrays.copyOfRange(prefix, 4, 8)};
    }

    private static StateFormatException unsupported(int version) {
        return new StateFormatException(UNSUPPORTED_VERSION, "version", "format version " + version
                + " is not supported (this reader reads version " + VERSION + ")");
    }

    /** Exactly {@code n} bytes, grown as they arrive (at most 1 MiB ahead of what was read). */
    private static byte[] readFully(InputStream in, int n, String field) throws IOException {
        byte[] b = new byte[Math.min(n, 1 << 20)];
        int got = 0;
        while (got < n) {
            if (got == b.length) b = Arrays.copyOf(b, (int) Math.min(n, Math.max(2L * b.length, got + (1 << 20))));
            int r = in.read(b, got, b.length - got);
            if (r < 0) {
                throw new StateFormatException(TRUNCATED, field, "the data ends after " + got + " of " + n + " bytes");
            }
            got += r;
        }
        return b;
    }

    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    private static void putU16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    private static void putU32(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static void putU64(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static int getU32(byte[] b, int at) {
        int v = 0;
        for (int i = 0; i < 4; i++) v |= (b[at + i] & 0xff) << (8 * i);
        return v;
    }

    private static long getU64(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) v |= (b[at + i] & 0xffL) << (8 * i);
        return v;
    }
}
