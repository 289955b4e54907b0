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
 * and decodes as {@code σ∘a + shift·1}. The 256 patterns are every pattern with {@code |a|² ≤ 10} (227 of them, the
 * points of smallest norm: seven complete permutation orbits), the 28 permutations of {@code (5/2, 5/2, ½^6)}
 * ({@code |a|² = 14}) and the single pattern {@code (3/2^5, ½^3)} that comes first in lexicographic order. QuIP#
 * fills the last 29 slots with norm-12 patterns instead; on unit Gaussian data at the best fixed scale the two give
 * 10.389 and 10.395 dB, the same within the measurement's noise, and complete orbits make the exact search fast
 * (below). The codebook is symmetric ({@code -c} is a point whenever c is).
 *
 * <p>Encoding is exact: the nearest point of {@code E8 + ¼·1} (Conway-Sloane) is the answer whenever its pattern is in
 * the table. Otherwise (the input lies outside the codebook's ball) the nearest codebook point is found by searching
 * the two shifts and the eight orbits: for a shift t and {@code u = |z - t|}, the best pattern of a complete orbit
 * matches the orbit's values in decreasing order to the coordinates in decreasing order of u (rearrangement
 * inequality), with the signs of {@code z - t}; when the sign count has the wrong parity the best single flip is at the
 * smallest u, which that matching pairs with ½, and this matching stays the best (exchange argument: the flipped
 * coordinate should carry the smallest value, and flipping at the smallest u loses least). The single extra pattern
 * is tried directly. {@link #searchAll} is this search; {@link #searchAllPatterns} is the plain loop over all 256
 * patterns that tests compare it with.
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
    /** [orbits][8] the values of each complete orbit in decreasing order. */
    final float[][] orbitValues;
    /** [orbits] parity and |a|² of each complete orbit. */
    final int[] orbitParity;
    final float[] orbitNorm2;
    /** Patterns not in a complete orbit, searched one by one. */
    final int[] loosePatterns;
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
        // group the patterns into permutation orbits; an orbit is complete when all its permutations are present
        java.util.Map<String, List<Integer>> orbits = new java.util.LinkedHashMap<>();
        for (int p = 0; p < PATTERNS; p++) {
            int[] sorted = patterns2[p].clone();
            Arrays.sort(sorted);
            orbits.computeIfAbsent(Arrays.toString(sorted), k -> new ArrayList<>()).add(p);
        }
        List<float[]> values = new ArrayList<>();
        List<Integer> loose = new ArrayList<>();
        for (List<Integer> members : orbits.values()) {
            int[] sorted = patterns2[members.get(0)].clone();
            Arrays.sort(sorted);
            if (members.size() == permutations(sorted) && sorted[0] == 1) {
                float[] m = new float[8];
                for (int k = 0; k < 8; k++) m[k] = sorted[7 - k] / 2f;
                values.add(m);
            } else {
                loose.addAll(members);
            }
        }
        orbitValues = values.toArray(new float[0][]);
        orbitParity = new int[orbitValues.length];
        orbitNorm2 = new float[orbitValues.length];
        for (int o = 0; o < orbitValues.length; o++) {
            float sum = 0;
            for (float v : orbitValues[o]) {
                sum += v;
                orbitNorm2[o] += v * v;
            }
            orbitParity[o] = ((int) sum) & 1;
        }
        loosePatterns = loose.stream().mapToInt(Integer::intValue).toArray();
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
        for (int key = 0; key < 6561; key++) {
            int[] a = fromKey(key);
            if (norm4(a) <= 48) all.add(a); // 4 |a|^2 = Σ a2^2
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
        int[] extra = null;
        for (int[] p : patternsUpToNorm12()) {
            if (norm4(p) <= 40) {
                chosen.add(p);
            } else if (extra == null && count(p, 3) == 5) {
                extra = p;
            }
        }
        if (chosen.size() != 227) throw new AssertionError("expected 227 patterns of norm <= 10: " + chosen.size());
        for (int key = 0; key < 6561; key++) { // (5/2, 5/2, 1/2^6) in lexicographic order of positions
            int[] p = fromKey(key);
            if (count(p, 5) == 2 && count(p, 1) == 6) chosen.add(p);
        }
        List<int[]> rest = new ArrayList<>(chosen.subList(227, chosen.size()));
        rest.sort(Arrays::compare);
        chosen = new ArrayList<>(chosen.subList(0, 227));
        chosen.addAll(rest);
        chosen.add(extra);
        if (chosen.size() != PATTERNS) throw new AssertionError("expected 256 patterns: " + chosen.size());
        return chosen.toArray(new int[0][]);
    }

    /** Number of distinct permutations of a multiset (8! / Π multiplicity!). */
    private static int permutations(int[] sorted) {
        int n = 40320;
        for (int i = 0, run = 1; i < 8; i++) {
            if (i > 0 && sorted[i] == sorted[i - 1]) run++;
            else run = 1;
            n /= run;
        }
        return n;
    }

    private static int[] fromKey(int key) {
        int[] a = new int[8];
        for (int i = 0; i < 8; i++, key /= 3) a[i] = 2 * (key % 3) + 1;
        return a;
    }

    private static long count(int[] a, int v) {
        return Arrays.stream(a).filter(x -> x == v).count();
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
     * The nearest codebook point when the nearest lattice point is not in the codebook: the orbit search described in
     * the class comment, about 300 operations instead of the 4,000 of {@link #searchAllPatterns}. The coordinates are
     * ranked by integer keys: the bits of {@code u = |w|} with the three lowest mantissa bits replaced by the
     * coordinate's index (so the ranking is by u rounded down to 20 mantissa bits, ties by index), and the orbit
     * scores use those rounded values; the difference from the exact scores is below 2^-20 relative.
     * {@code VectorE8Encoder} computes exactly this, eight groups at a time.
     */
    int searchAll(float[] z, int zOff) {
        int best = 0;
        float bestScore = Float.NEGATIVE_INFINITY; // maximize score = <σ∘a, w> - |a|²/2 - |w|²/2 = -distance²/2
        for (int sb = 0; sb < 2; sb++) {
            float t = sb == 0 ? 0.25f : -0.25f;
            float w0 = z[zOff] - t, w1 = z[zOff + 1] - t, w2 = z[zOff + 2] - t, w3 = z[zOff + 3] - t;
            float w4 = z[zOff + 4] - t, w5 = z[zOff + 5] - t, w6 = z[zOff + 6] - t, w7 = z[zOff + 7] - t;
            float ww = w0 * w0 + w1 * w1 + w2 * w2 + w3 * w3 + w4 * w4 + w5 * w5 + w6 * w6 + w7 * w7;
            int negMask = (w0 < 0 ? 1 : 0) | (w1 < 0 ? 2 : 0) | (w2 < 0 ? 4 : 0) | (w3 < 0 ? 8 : 0)
                    | (w4 < 0 ? 16 : 0) | (w5 < 0 ? 32 : 0) | (w6 < 0 ? 64 : 0) | (w7 < 0 ? 128 : 0);
            int k0 = sortKey(w0, 0), k1 = sortKey(w1, 1), k2 = sortKey(w2, 2), k3 = sortKey(w3, 3);
            int k4 = sortKey(w4, 4), k5 = sortKey(w5, 5), k6 = sortKey(w6, 6), k7 = sortKey(w7, 7);
            // sort decreasing: the optimal 19-comparator network for 8 inputs (SORT_NETWORK)
            int a, b;
            a = Math.max(k0, k1); b = Math.min(k0, k1); k0 = a; k1 = b;
            a = Math.max(k2, k3); b = Math.min(k2, k3); k2 = a; k3 = b;
            a = Math.max(k4, k5); b = Math.min(k4, k5); k4 = a; k5 = b;
            a = Math.max(k6, k7); b = Math.min(k6, k7); k6 = a; k7 = b;
            a = Math.max(k0, k2); b = Math.min(k0, k2); k0 = a; k2 = b;
            a = Math.max(k1, k3); b = Math.min(k1, k3); k1 = a; k3 = b;
            a = Math.max(k4, k6); b = Math.min(k4, k6); k4 = a; k6 = b;
            a = Math.max(k5, k7); b = Math.min(k5, k7); k5 = a; k7 = b;
            a = Math.max(k1, k2); b = Math.min(k1, k2); k1 = a; k2 = b;
            a = Math.max(k5, k6); b = Math.min(k5, k6); k5 = a; k6 = b;
            a = Math.max(k0, k4); b = Math.min(k0, k4); k0 = a; k4 = b;
            a = Math.max(k3, k7); b = Math.min(k3, k7); k3 = a; k7 = b;
            a = Math.max(k1, k5); b = Math.min(k1, k5); k1 = a; k5 = b;
            a = Math.max(k2, k6); b = Math.min(k2, k6); k2 = a; k6 = b;
            a = Math.max(k1, k4); b = Math.min(k1, k4); k1 = a; k4 = b;
            a = Math.max(k3, k6); b = Math.min(k3, k6); k3 = a; k6 = b;
            a = Math.max(k2, k4); b = Math.min(k2, k4); k2 = a; k4 = b;
            a = Math.max(k3, k5); b = Math.min(k3, k5); k3 = a; k5 = b;
            a = Math.max(k3, k4); b = Math.min(k3, k4); k3 = a; k4 = b;
            float u0 = rankValue(k0), u1 = rankValue(k1), u2 = rankValue(k2), u3 = rankValue(k3);
            float u4 = rankValue(k4), u5 = rankValue(k5), u6 = rankValue(k6), u7 = rankValue(k7);
            int negParity = Integer.bitCount(negMask) & 1;
            float offset = -0.5f * ww;
            int bestOrbit = -1;
            float bestOrbitScore = Float.NEGATIVE_INFINITY;
            for (int o = 0; o < orbitValues.length; o++) {
                float[] m = orbitValues[o];
                float dot = m[0] * u0 + m[1] * u1 + m[2] * u2 + m[3] * u3 + m[4] * u4 + m[5] * u5 + m[6] * u6 + m[7] * u7;
                if (orbitParity[o] != negParity) dot -= u7; // flip at the smallest u, which carries ½: 2 * ½ * u7
                float score = dot - 0.5f * orbitNorm2[o] + offset;
                if (score > bestOrbitScore) {
                    bestOrbitScore = score;
                    bestOrbit = o;
                }
            }
            if (bestOrbitScore > bestScore) {
                bestScore = bestOrbitScore;
                best = orbitCode(bestOrbit, negMask, negParity, sb, k0, k1, k2, k3, k4, k5, k6, k7);
            }
            for (int p : loosePatterns) {
                float dot = 0;
                float min = Float.POSITIVE_INFINITY;
                int argMin = 0;
                for (int i = 0; i < 8; i++) {
                    float v = abs[p * 8 + i] * Math.abs(z[zOff + i] - t);
                    dot += v;
                    if (v < min) {
                        min = v;
                        argMin = i;
                    }
                }
                int mask = negMask;
                if (negParity != parity[p]) {
                    dot -= 2 * min;
                    mask ^= 1 << argMin;
                }
                float score = dot - 0.5f * norm2[p] + offset;
                if (score > bestScore) {
                    bestScore = score;
                    best = p | (mask & 0x7f) << 8 | sb << 15;
                }
            }
        }
        return best;
    }

    /** The code of orbit o's best pattern for sorted keys k0 &gt;= ... &gt;= k7 (rank k carries the orbit's k-th value). */
    int orbitCode(int o, int negMask, int negParity, int shiftBit, int k0, int k1, int k2, int k3, int k4, int k5, int k6, int k7) {
        float[] m = orbitValues[o];
        int key = digit(m[0], k0) + digit(m[1], k1) + digit(m[2], k2) + digit(m[3], k3)
                + digit(m[4], k4) + digit(m[5], k5) + digit(m[6], k6) + digit(m[7], k7);
        int mask = negMask;
        if (orbitParity[o] != negParity) mask ^= 1 << (k7 & 7);
        return indexOfKey[key] | (mask & 0x7f) << 8 | shiftBit << 15;
    }

    /** The rank key of w at coordinate i: |w|'s bits with the index in the three lowest. */
    static int sortKey(float w, int i) {
        return (Float.floatToRawIntBits(w) & 0x7ffffff8) | i;
    }

    /** The (rounded) |w| a rank key stands for. */
    static float rankValue(int key) {
        return Float.intBitsToFloat(key & ~7);
    }

    private static final int[] POW3 = {1, 3, 9, 27, 81, 243, 729, 2187};


    /** The key digit of value m at the coordinate stored in the low 3 bits of a sort key. */
    private static int digit(float m, int sortKey) {
        return ((int) (2 * m) - 1) / 2 * POW3[(int) (sortKey & 7)];
    }

    /**
     * The nearest codebook point by exhaustive search over the 2 x 256 (shift, pattern) pairs: the reference for
     * {@link #searchAll}. For a pair the distance is {@code |w|² - 2 Σ a_i |w_i| + |a|²} with {@code w = z - shift},
     * plus {@code 4 min_i a_i |w_i|} when the signs of w have the wrong parity (the cheapest single flip).
     */
    int searchAllPatterns(float[] z, int zOff) {
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
