package dev.nexusquant.kv.baseline;

/** Packs small unsigned codes of {@code bits} bits each, least significant bits first, into bytes. */
final class BitPacking {

    private BitPacking() {
    }

    static int bytesFor(long codes, int bits) {
        return (int) ((codes * bits + 7) / 8);
    }

    /** Writes {@code code} (< 2^bits) as the {@code index}-th code of {@code out}. */
    static void put(byte[] out, long index, int bits, int code) {
        long bit = index * bits;
        for (int b = 0; b < bits; b++, bit++) {
            if (((code >>> b) & 1) != 0) out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
        }
    }

    /** Reads the {@code index}-th code of {@code bits} bits. */
    static int get(byte[] in, long index, int bits) {
        long bit = index * bits;
        int byteIdx = (int) (bit >>> 3);
        int shift = (int) (bit & 7);
        int word = in[byteIdx] & 0xFF;
        if (shift + bits > 8) word |= (in[byteIdx + 1] & 0xFF) << 8;
        if (shift + bits > 16) word |= (in[byteIdx + 2] & 0xFF) << 16;
        return (word >>> shift) & ((1 << bits) - 1);
    }
}
