package dev.nexusquant.codec.baseline;

/** Packs small unsigned codes of {@code bits} bits each, least significant bits first, into bytes at an offset. */
final class BitPacking {

    private BitPacking() {
    }

    static int bytesFor(long codes, int bits) {
        return (int) ((codes * bits + 7) / 8);
    }

    /** Writes {@code code} (< 2^bits) as the {@code index}-th code of the array starting at {@code base}. */
    static void put(byte[] out, int base, long index, int bits, int code) {
        long bit = index * bits;
        for (int b = 0; b < bits; b++, bit++) {
            if (((code >>> b) & 1) != 0) out[base + (int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
        }
    }

    /** Reads the {@code index}-th code of {@code bits} bits of the array starting at {@code base}. */
    static int get(byte[] in, int base, long index, int bits) {
        long bit = index * bits;
        int code = 0;
        for (int b = 0; b < bits; b++, bit++) code |= ((in[base + (int) (bit >>> 3)] >>> (bit & 7)) & 1) << b;
        return code;
    }
}
