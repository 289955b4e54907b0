package dev.nexusquant.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * A value that carries its own integrity check, so that one damaged in a store (a bit flipped on disk, a value
 * truncated or overwritten in Redis) is recognized and never used. Layout, little-endian:
 * <pre>
 *   magic "NQV1" (4) | payload length u32 (4) | CRC32C of the payload u32 (4) | payload
 * </pre>
 */
public final class CheckedValue {

    static final int MAGIC = 0x3156514E; // "NQV1" read as a little-endian u32
    public static final int OVERHEAD = 12;

    private CheckedValue() {
    }

    /** The payload framed with its length and CRC32C. */
    public static byte[] wrap(byte[] payload) {
        byte[] out = new byte[OVERHEAD + payload.length];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(payload.length).putInt((int) crc(payload, 0, payload.length));
        System.arraycopy(payload, 0, out, OVERHEAD, payload.length);
        return out;
    }

    /**
     * The payload of a framed value; {@link KvStoreException} of kind CORRUPT naming what does not match (magic,
     * length, checksum) when the value is damaged.
     */
    public static byte[] unwrap(byte[] value, String what) throws KvStoreException {
        if (value.length < OVERHEAD) {
            throw corrupt(what, value.length + " bytes, shorter than the " + OVERHEAD + "-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt();
        if (magic != MAGIC) throw corrupt(what, String.format("magic 0x%08x, expected 0x%08x", magic, MAGIC));
        long len = Integer.toUnsignedLong(b.getInt());
        if (len != value.length - OVERHEAD) {
            throw corrupt(what, "header says " + len + " payload bytes, the value holds " + (value.length - OVERHEAD));
        }
        long crc = Integer.toUnsignedLong(b.getInt());
        long actual = crc(value, OVERHEAD, value.length - OVERHEAD);
        if (crc != actual) throw corrupt(what, String.format("CRC32C 0x%08x, header says 0x%08x", actual, crc));
        byte[] payload = new byte[value.length - OVERHEAD];
        System.arraycopy(value, OVERHEAD, payload, 0, payload.length);
        return payload;
    }

    private static long crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return c.getValue();
    }

    private static KvStoreException corrupt(String what, String detail) {
        return new KvStoreException(KvStoreException.Kind.CORRUPT, what + " is damaged: " + detail);
    }
}
