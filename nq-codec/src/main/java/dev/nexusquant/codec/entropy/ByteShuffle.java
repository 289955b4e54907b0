package dev.nexusquant.codec.entropy;

/**
 * Byte-plane transposition of fixed-size records ({@code [records][recordBytes]} to {@code [recordBytes][records]}),
 * as Blosc's shuffle filter does: it puts byte j of every record side by side, so that a general-purpose compressor
 * sees one homogeneous stream per byte position (for E8 codes: the pattern bytes, whose distribution is skewed, apart
 * from the sign bytes, which are nearly uniform; the exponent bytes of the fp16 scales apart from their mantissas).
 */
public final class ByteShuffle {

    private ByteShuffle() {
    }

    /** {@code dst[dstOff + j * records + r] = src[srcOff + r * recordBytes + j]}. */
    public static void shuffle(byte[] src, int srcOff, int records, int recordBytes, byte[] dst, int dstOff) {
        check(src, srcOff, records, recordBytes, dst, dstOff);
        for (int r = 0; r < records; r++) {
            int from = srcOff + r * recordBytes;
            for (int j = 0; j < recordBytes; j++) {
                dst[dstOff + j * records + r] = src[from + j];
            }
        }
    }

    /** The inverse of {@link #shuffle}. */
    public static void unshuffle(byte[] src, int srcOff, int records, int recordBytes, byte[] dst, int dstOff) {
        check(src, srcOff, records, recordBytes, dst, dstOff);
        for (int r = 0; r < records; r++) {
            int to = dstOff + r * recordBytes;
            for (int j = 0; j < recordBytes; j++) {
                dst[to + j] = src[srcOff + j * records + r];
            }
        }
    }

    private static void check(byte[] src, int srcOff, int records, int recordBytes, byte[] dst, int dstOff) {
        long n = (long) records * recordBytes;
        if (records < 0 || recordBytes < 0 || srcOff < 0 || dstOff < 0 || n > src.length - (long) srcOff || n > dst.length - (long) dstOff) {
            throw new IndexOutOfBoundsException("ByteShuffle: " + records + " x " + recordBytes + " bytes do not fit");
        }
    }
}
