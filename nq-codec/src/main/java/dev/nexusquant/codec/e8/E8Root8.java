package dev.nexusquant.codec.e8;

/**
 * An 8-bit codebook of 256 points of E8: the 240 roots (the minimal vectors, squared norm 2) and the 16 points
 * {@code ±2 e_i} (squared norm 4, along the axes).
 * <pre>
 *   codes   0..111  (±1, ±1, 0, ..., 0) on a pair of coordinates i &lt; j: 28 pairs x 4 sign choices
 *   codes 112..239  (±½)^8 with an even number of minus signs; bits 0..6 of (code - 112) are the signs of
 *                   coordinates 0..6 (1 = negative), the sign of coordinate 7 makes the count even
 *   codes 240..255  ±2 e_i: 240 + 2i for +, 240 + 2i + 1 for -
 * </pre>
 * The origin is left out: an eight-dimensional input rarely falls near it, and the axis points serve inputs that
 * one coordinate dominates. Used alone (1 bit per value) and as the second, residual stage of the 3-bit codec.
 *
 * <p>Encoding is exact and needs no search: for squared norm 2 the best root maximizes {@code <z, c>}, which is the
 * two largest |z_i| (first family) or half the sum of |z_i| with the smallest one flipped when the parity requires it
 * (second family); the best axis point is at the largest |z_i|. Decoding is one lookup in a 256 x 8 table (8 KiB).
 */
final class E8Root8 implements Codebook {

    static final E8Root8 INSTANCE = new E8Root8();

    /** [256][8] the points. */
    final float[] points = new float[256 * 8];
    /** [8][8] code of (+1, +1) on pair (i, j), i &lt; j; add 1 for (+, -), 2 for (-, +), 3 for (-, -). */
    private final int[] pairCode = new int[64];

    private E8Root8() {
        int code = 0;
        for (int i = 0; i < 8; i++) {
            for (int j = i + 1; j < 8; j++) {
                pairCode[i * 8 + j] = code;
                for (int s = 0; s < 4; s++, code++) {
                    points[code * 8 + i] = (s & 2) != 0 ? -1f : 1f;
                    points[code * 8 + j] = (s & 1) != 0 ? -1f : 1f;
                }
            }
        }
        for (int s7 = 0; s7 < 128; s7++, code++) {
            int signs = s7 | ((Integer.bitCount(s7) & 1) << 7);
            for (int i = 0; i < 8; i++) {
                points[code * 8 + i] = ((signs >>> i) & 1) != 0 ? -0.5f : 0.5f;
            }
        }
        for (int i = 0; i < 8; i++) {
            points[code++ * 8 + i] = 2f;
            points[code++ * 8 + i] = -2f;
        }
        assert code == 256;
    }

    @Override
    public int bits() {
        return 8;
    }

    @Override
    public float maxNorm2() {
        return 4f;
    }

    @Override
    public void decode(int code, float[] out, int off) {
        System.arraycopy(points, (code & 0xff) * 8, out, off, 8);
    }

    @Override
    public int encode(float[] z, int zOff, float[] point, int pOff) {
        int code = nearest(z, zOff);
        decode(code, point, pOff);
        return code;
    }

    /** The code of the nearest point: maximize {@code <z, c> - |c|²/2} over the three families. */
    int nearest(float[] z, int zOff) {
        int i1 = -1;
        int i2 = -1;
        float a1 = -1f;
        float a2 = -1f;
        float sumAbs = 0f;
        float minAbs = Float.POSITIVE_INFINITY;
        int minAt = 0;
        int neg = 0;
        for (int i = 0; i < 8; i++) {
            float v = z[zOff + i];
            float a = Math.abs(v);
            sumAbs += a;
            if (v < 0) neg |= 1 << i;
            if (a < minAbs) {
                minAbs = a;
                minAt = i;
            }
            if (a > a1) {
                a2 = a1;
                i2 = i1;
                a1 = a;
                i1 = i;
            } else if (a > a2) {
                a2 = a;
                i2 = i;
            }
        }
        return choose(a1, a2, i1, i2, sumAbs, minAbs, minAt, neg);
    }

    /**
     * The code from the statistics of z: the two largest |z_i| (a1 &gt;= a2, at i1 and i2), the sum and the smallest of
     * the |z_i| (at minAt), and the sign bits (bit i set when z_i &lt; 0). Shared with the vector encoder.
     */
    int choose(float a1, float a2, int i1, int i2, float sumAbs, float minAbs, int minAt, int neg) {
        // family 1: (±1, ±1) on the two largest |z_i|
        float score1 = a1 + a2 - 1f;
        // family 2: (±½)^8, signs of z, one flip at the smallest |z_i| when the count of minus signs is odd
        float score2 = 0.5f * sumAbs - 1f;
        int signs = neg;
        if ((Integer.bitCount(neg) & 1) != 0) {
            score2 -= minAbs;
            signs ^= 1 << minAt;
        }
        // family 3: ±2 e_i at the largest |z_i|
        float score3 = 2f * a1 - 2f;
        if (score1 >= score2 && score1 >= score3) {
            int lo = Math.min(i1, i2);
            int hi = Math.max(i1, i2);
            int s = (((neg >>> lo) & 1) << 1) | ((neg >>> hi) & 1);
            return pairCode[lo * 8 + hi] + s;
        } else if (score2 >= score3) {
            return 112 + (signs & 0x7f);
        } else {
            return 240 + 2 * i1 + ((neg >>> i1) & 1);
        }
    }
}
