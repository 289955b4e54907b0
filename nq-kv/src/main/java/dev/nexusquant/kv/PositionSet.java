package dev.nexusquant.kv;

/**
 * The ascending positions of the tokens a segment keeps, stored compactly and counted honestly: a bitmap over
 * {@code [first, last]} when that is smaller, otherwise 16-bit gaps (or 32-bit positions when a gap does not fit).
 */
final class PositionSet {

    private final int count;
    private final int first;
    private final int last;
    private final long[] bitmap; // bit (p - first) set for kept p; null unless chosen
    private final short[] gaps;  // [count - 1] p[i+1] - p[i] - 1 as unsigned 16 bit; null unless chosen
    private final int[] plain;   // [count]; null unless chosen

    PositionSet(int[] positions, int count) {
        if (count <= 0) throw new IllegalArgumentException("empty position set");
        this.count = count;
        this.first = positions[0];
        this.last = positions[count - 1];
        long span = (long) last - first + 1;
        long bitmapBytes = 8L * ((span + 63) / 64);
        boolean gapsFit = true;
        for (int i = 1; i < count; i++) {
            if (positions[i] <= positions[i - 1]) throw new IllegalArgumentException("positions not ascending");
            if (positions[i] - positions[i - 1] - 1 > 0xFFFF) gapsFit = false;
        }
        long gapBytes = gapsFit ? 2L * (count - 1) : Long.MAX_VALUE;
        long plainBytes = 4L * count;
        if (bitmapBytes <= gapBytes && bitmapBytes <= plainBytes) {
            bitmap = new long[(int) ((span + 63) / 64)];
            for (int i = 0; i < count; i++) {
                int b = positions[i] - first;
                bitmap[b >>> 6] |= 1L << (b & 63);
            }
            gaps = null;
            plain = null;
        } else if (gapBytes <= plainBytes) {
            gaps = new short[count - 1];
            for (int i = 1; i < count; i++) gaps[i - 1] = (short) (positions[i] - positions[i - 1] - 1);
            bitmap = null;
            plain = null;
        } else {
            plain = java.util.Arrays.copyOf(positions, count);
            bitmap = null;
            gaps = null;
        }
    }

    int count() {
        return count;
    }

    int first() {
        return first;
    }

    int last() {
        return last;
    }

    /** Writes the positions of entries {@code [from, from + n)} into {@code out[0 .. n)}. */
    void decode(int from, int n, int[] out) {
        if (plain != null) {
            System.arraycopy(plain, from, out, 0, n);
            return;
        }
        if (n <= 0) return;
        int idx = 0;
        int written = 0;
        if (gaps != null) {
            // entry i sits at first + i + (the gaps before it): the sum up to from in one pass, then step by step
            int p = first + from;
            for (int i = 0; i < from; i++) p += gaps[i] & 0xFFFF;
            out[written++] = p;
            for (int i = from + 1; i < from + n; i++) {
                p += (gaps[i - 1] & 0xFFFF) + 1;
                out[written++] = p;
            }
            return;
        }
        int w = 0;
        for (int c; w < bitmap.length && idx + (c = Long.bitCount(bitmap[w])) <= from; w++) idx += c; // whole words before from
        for (; w < bitmap.length && written < n; w++) {
            long bits = bitmap[w];
            while (bits != 0 && written < n) {
                int b = Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                if (idx >= from) out[written++] = first + (w << 6) + b;
                idx++;
            }
        }
    }

    /** Bytes held: the array in use plus the three ints of the header. */
    long bytes() {
        long body = bitmap != null ? 8L * bitmap.length : gaps != null ? 2L * gaps.length : 4L * plain.length;
        return body + 12;
    }
}
