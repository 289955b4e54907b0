package dev.nexusquant.codec.container;

import java.util.zip.CRC32C;

/** Helpers that rewrite checksums after a mutation, so that tests reach the structural checks behind them. */
final class Mutations {

    private Mutations() {
    }

    static int u32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static void putU32(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    /** Recomputes the header CRC (if the header length field still fits the array). */
    static byte[] withHeaderCrc(byte[] b) {
        if (b.length < 12) return b;
        long body = u32(b, 8) & 0xffffffffL;
        if (12 + body + 4 > b.length) return b;
        CRC32C c = new CRC32C();
        c.update(b, 0, (int) (12 + body));
        putU32(b, (int) (12 + body), (int) c.getValue());
        return b;
    }

    /**
     * Recomputes every section CRC in the header's table from the bytes now stored, then the header CRC: a mutation of
     * a section's bytes then passes the checksums and must be caught by the structural checks. Works on the layout
     * of a valid container whose header was not changed.
     */
    static byte[] withAllCrcs(byte[] b) {
        long body = u32(b, 8) & 0xffffffffL;
        int table = (int) (12 + body - ContainerFormat.SECTIONS * ContainerFormat.SECTION_ENTRY);
        int at = (int) (12 + body + 4);
        for (int s = 0; s < ContainerFormat.SECTIONS; s++) {
            int entry = table + s * ContainerFormat.SECTION_ENTRY;
            int stored = u32(b, entry + 10);
            if (stored < 0 || at + (long) stored > b.length) return withHeaderCrc(b);
            CRC32C c = new CRC32C();
            c.update(b, at, stored);
            putU32(b, entry + 14, (int) c.getValue());
            at += stored;
        }
        return withHeaderCrc(b);
    }
}
