package dev.nexusquant.codec.e8;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A 16-bit codebook of 65,536 points of the shifted lattice {@code E8 + ¼·1}, decoded by one lookup in a
 * 256-entry table: the construction of QuIP#'s E8P codebook (Tseng et al., "QuIP#: Even Better LLM Quantization with
 * Hadamard Incoherence and Lattice Codebooks", ICML 2024), built and chosen here from first principles.
 *
 * <p>Every point of {@code E8 + ¼·1} is uniquely {@code h ± ¼·1} with {@code h ∈ D8 + ½} (if {@code y - ¼ ∈ D8} then
 * {@code y + ¼ ∈ D8 + ½}). The coordinates of such an h are odd multiples of ½, never 0, so h is its absolute values
 * {@code a = |h|} and eight signs; {@code h ∈ D8 + ½} exactly when the number of negative signs has the parity of
 * {@code Σ a_i}, so seven signs are free and the eighth follows. A code is therefore
 * <pre>
 *   bits 0..7   index of the absolute-value pattern a in a table of 256
 *   bits 8..14  signs of coordinates 0..6 (1 = negative); the sign of coordinate 7 follows from the parity
 *   bit 15      shift: 0 = +¼, 1 = -¼
 * </pre>
 * and decodes as {@code σ∘a + shift·1}. The 256 patterns are every pattern with {@code |a|² ≤ 10} (227 of them: the
 * points of smallest norm) and 29 of the 224 patterns with {@code |a|² = 12}, those of the form
 * {@code (3/2)^5 (1/2)^3} taken in lexicographic order of their positions (both norm-12 families were measured;
 * see {@code E8CodecQualityTest}). The codebook is symmetric ({@code -c} is a point whenever c is) and contains the
 * 65,536 points of norm at most about 12.5.
 *
 * <p>Encoding is exact: the nearest point of {@code E8 + ¼·1} (Conway-Sloane) is the answer whenever its pattern is in
 * the table; otherwise (the input is outside the codebook's ball) an exhaustive search over the 2 x 256 (shift,
 * pattern) pairs finds the nearest codebook point, where for each pair the best signs are those of the input with at
 * most one flip to satisfy the parity.
 *
 * <p>Tables: 256 x 8 floats of absolute values (8 KiB) plus 256 parity bytes for decoding; 3^8 shorts (13 KiB)
 * mapping a pattern to its index for encoding.
 */
final class E8P16 implements Codebook {

    static final E8P16 INSTANCE = new E8P16();

    static final int PATTERNS = 256;
    /** [256][8] absolute values a, in (½, 3/2, 5/2). */
    final float[] abs = new float[PATTERNS * 8];
    /** [256] Σ a_i mod 2: the parity the number of negative signs must have. */
    final byte[] parity = new byte[PATTERNS];
    /** [256] |a|². */
    final float[] norm2 = new float[PATTERNS];
    /** [8][256] the absolute values again, coordinate-major, for the exhaustive search. */
    final float[] absT = new float[8 * PATTERNS];
    /** [3^8] pattern index by key Σ k_i 3^i with a_i = k_i + ½, or -1. */
    final short[] indexOfKey = new short[6561];
    private final float maxNorm2;

    private E8P16() {
        this(defaultPatterns());
    }

    /** A codebook over the given doubled patterns (values 1, 3, 5); for experiments in tests. */
    E8P16(int[][] patterns2) {
        if (patterns2.length != PATTERNS) throw new IllegalArgumentException("need 256 patterns");
        Arrays.fill(indexOfKey, (short) -1);
        for (int p = 0; p < PATTERNS; p++) {
            int sum2 = 0;
            int key = 0;
            for (int i = 0, pow = 1; i < 8; i++, pow *= 3) {
                int a2 = patterns2[p][i];
                if (a2 != 1 && a2 != 3 && a2 != 5) throw new IllegalArgumentException("pattern value " + a2);
                abs[p * 8 + i] = a2 / 2f;
                absT[i * PATTERNS + p] = a2 / 2f;
                norm2[p] += (a2 / 2f) * (a2 / 2f);
                sum2 += a2;
                key += (a2 - 1) / 2 * pow;
            }
            parity[p] = (byte) ((sum2 / 2) & 1);
            if (indexOfKey[key] != -1) throw new IllegalArgumentException("duplicate pattern " + p);
            indexOfKey[key] = (short) p;
        }
        float max = 0;
        float[] point = new float[8];
        for (int code = 0; code < 65536; code++) {
            decode(code, point, 0);
            float n = 0;
            for (float v : point) n += v * v;
            max = Math.max(max, n);
        }
        maxNorm2 = max;
    }

    /** All doubled patterns of norm² (of a) at most 12, in order of norm then lexicographically. */
    static List<int[]> patternsUpToNorm12() {
        List<int[]> all = new ArrayList<>();
        int[] a = new int[8];
        for (int key = 0; key < 6561; key++) {
            int k = key;
            int n4 = 0; // 4 |a|^2 = Σ a2^2
            for (int i = 0; i < 8; i++) {
                a[i] = 2 * (k % 3) + 1;
                k /= 3;
                n4 += a[i] * a[i];
            }
            if (n4 <= 48) all.add(a.clone());
        }
        all.sort(Comparator.<int[]>comparingInt(E8P16::norm4).thenComparing(Arrays::compare));
        return all;
    }

    static int norm4(int[] a2) {
        int s = 0;
        for (int v : a2) s += v * v;
        return s;
    }

    private static int[][] defaultPatterns() {
        List<int[]> chosen = new ArrayList<>();
        List<int[]> twelve = new ArrayList<>();
        for (int[] p : patternsUpToNorm12()) {
            if (norm4(p) <= 40) {
                chosen.add(p);
            } else if (Arrays.stream(p).filter(v -> v == 3).count() == 5) {
                twelve.add(p);
            }
        }
        if (chosen.size() != 227) throw new AssertionError("expected 227 patterns of norm <= 10: " + chosen.size());
        chosen.addAll(twelve.subList(0, PATTERNS - chosen.size()));
        return chosen.toArray(new int[0][]);
    }

    @Override
    public int bits() {
        return 16;
    }

    @Override
    public float maxNorm2() {
        return maxNorm2;
    }

    /** The sign byte (bit i = coordinate i negative) of a code, with the parity-implied sign of coordinate 7. */
    int signs(int code) {
        int s7 = (code >>> 8) & 0x7f;
        return s7 | (((Integer.bitCount(s7) ^ parity[code & 0xff]) & 1) << 7);
    }

    static float shift(int code) {
        return (code & 0x8000) != 0 ? -0.25f : 0.25f;
    }

    @Override
    public void decode(int code, float[] out, int off) {
        int p = (code & 0xff) * 8;
        int s = signs(code);
        float t = shift(code);
        for (int i = 0; i < 8; i++) {
            float a = abs[p + i];
            out[off + i] = (((s >>> i) & 1) != 0 ? -a : a) + t;
        }
    }

    @Override
    public int encode(float[] z, int zOff, float[] point, int pOff) {
        // nearest point of E8 + 1/4: y = N_E8(z - 1/4) + 1/4, computed in place in point[]
        for (int i = 0; i < 8; i++) point[pOff + i] = z[zOff + i] - 0.25f;
        E8Lattice.nearest(point, pOff, point, pOff);
        // y - 1/4 in D8 + 1/2: h = y - 1/4, shift +1/4.  y - 1/4 in D8: h = y - 1/4 + 1/2, shift -1/4.
        boolean half = point[pOff] != Math.rint(point[pOff]);
        int shiftBit = half ? 0 : 1;
        float toH = half ? 0f : 0.5f;
        int key = 0;
        int signs = 0;
        boolean inTable = true;
        for (int i = 0, pow = 1; i < 8; i++, pow *= 3) {
            float h = point[pOff + i] + toH;
            int a2 = (int) Math.abs(2f * h);
            if (a2 > 5) {
                inTable = false;
                break;
            }
            key += (a2 - 1) / 2 * pow;
            if (h < 0) signs |= 1 << i;
        }
        int code;
        if (inTable && indexOfKey[key] >= 0) {
            code = indexOfKey[key] | (signs & 0x7f) << 8 | shiftBit << 15;
        } else {
            code = searchAll(z, zOff);
        }
        decode(code, point, pOff);
        return code;
    }

    /**
     * The nearest codebook point by exhaustive search over the (shift, pattern) pairs. For a pair the distance is
     * {@code |w|² - 2 Σ a_i |w_i| + |a|²} with {@code w = z - shift}, plus {@code 4 min_i a_i |w_i|} when the signs of
     * w have the wrong parity (the cheapest single flip).
     */
    int searchAll(float[] z, int zOff) {
        int best = 0;
        float bestDist = Float.POSITIVE_INFINITY;
        for (int sb = 0; sb < 2; sb++) {
            float t = sb == 0 ? 0.25f : -0.25f;
            float w2 = 0;
            int negMask = 0;
            for (int i = 0; i < 8; i++) {
                float w = z[zOff + i] - t;
                w2 += w * w;
                if (w < 0) negMask |= 1 << i;
            }
            int negParity = Integer.bitCount(negMask) & 1;
            for (int p = 0; p < PATTERNS; p++) {
                float dot = 0;
                float min = Float.POSITIVE_INFINITY;
                int argMin = 0;
                for (int i = 0; i < 8; i++) {
                    float m = abs[p * 8 + i] * Math.abs(z[zOff + i] - t);
                    dot += m;
                    if (m < min) {
                        min = m;
                        argMin = i;
                    }
                }
                int mask = negMask;
                if (negParity != parity[p]) {
                    dot -= 2 * min;
                    mask ^= 1 << argMin;
                }
                float dist = w2 - 2 * dot + norm2[p];
                if (dist < bestDist) {
                    bestDist = dist;
                    best = p | (mask & 0x7f) << 8 | sb << 15;
                }
            }
        }
        return best;
    }
}
