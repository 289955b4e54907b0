package dev.nexusquant.codec.e8;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The encoder's inner loop with the Vector API, eight groups at a time: lane j holds group j of a batch, and the eight
 * coordinates of the groups are eight vectors (a structure of arrays, {@code zT[coordinate][lane]}). The nearest-point
 * searches (Conway-Sloane for E8P16, the three root families for E8Root8) then run without a single branch, where the
 * per-group scalar code mispredicts on every comparison of its worst-coordinate and top-two tracking.
 *
 * <p>It reproduces {@link E8Codec#quantizeScalar} bit for bit: the same float operations in the same order per lane
 * ({@code rint} as {@code (v + 1.5·2^23) - 1.5·2^23}, exact for |v| &lt; 2^22; {@code floor} from it), the same
 * first-maximum tie-breaking, and the scalar code for what is rare or irregular: the table lookup of a pattern, and the
 * exact search ({@link E8P16#searchAll}) for groups whose nearest lattice point lies outside the codebook.
 */
final class VectorE8Encoder {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final int[] GATHER = {0, 8, 16, 24, 32, 40, 48, 56};
    private static final float[] POW3 = {1, 3, 9, 27, 81, 243, 729, 2187};

    private VectorE8Encoder() {
    }

    static double quantize(E8Codec c, float[] x, int xOff, float sc, int[][] codes, E8Codec.Scratch s, double bound) {
        float inv = 1f / sc;
        float[] zT = s.zT;
        int stages = c.books.length;
        double err = 0;
        for (int g0 = 0; g0 < c.groupsPerScale; g0 += 8) {
            int lanes = Math.min(8, c.groupsPerScale - g0);
            int base = xOff + 8 * g0;
            // zT[i][j] = clamp(x[group g0 + j][i] * inv)
            if (lanes == 8) {
                FloatVector lo = FloatVector.broadcast(F, -E8Codec.CLAMP);
                FloatVector hi = FloatVector.broadcast(F, E8Codec.CLAMP);
                for (int i = 0; i < 8; i++) {
                    FloatVector.fromArray(F, x, base + i, GATHER, 0).mul(inv).max(lo).min(hi).intoArray(zT, 8 * i);
                }
            } else {
                java.util.Arrays.fill(zT, 0f);
                for (int j = 0; j < lanes; j++) {
                    for (int i = 0; i < 8; i++) zT[8 * i + j] = E8Codec.clamp(x[base + 8 * j + i] * inv);
                }
            }
            for (int st = 0; st < stages; st++) {
                float w = c.weights[st];
                if (st > 0) {
                    float iw = 1f / w;
                    for (int i = 0; i < 8; i++) FloatVector.fromArray(F, zT, 8 * i).mul(iw).intoArray(zT, 8 * i);
                }
                if (c.books[st] == E8Codec.BOOK_P16) {
                    p16(s, codes[st], g0, lanes);
                } else {
                    r8(s, codes[st], g0, lanes);
                }
                for (int i = 0; i < 8; i++) residual(zT, s.pT, i, st > 0, w);
            }
            laneErrors(zT, s.laneErr);
            for (int j = 0; j < lanes; j++) {
                err += (double) s.laneErr[j] * sc * sc;
                if (err >= bound) return err;
            }
        }
        return err;
    }

    /** zT[i] -= pT[i], then times w after the first stage. */
    private static void residual(float[] zT, float[] pT, int i, boolean weighted, float w) {
        FloatVector z = FloatVector.fromArray(F, zT, 8 * i).sub(FloatVector.fromArray(F, pT, 8 * i));
        if (weighted) z = z.mul(w);
        z.intoArray(zT, 8 * i);
    }

    /** Per lane: the sum of squares of its eight coordinates, in coordinate order. */
    private static void laneErrors(float[] zT, float[] out) {
        FloatVector z0 = FloatVector.fromArray(F, zT, 0), z1 = FloatVector.fromArray(F, zT, 8);
        FloatVector z2 = FloatVector.fromArray(F, zT, 16), z3 = FloatVector.fromArray(F, zT, 24);
        FloatVector z4 = FloatVector.fromArray(F, zT, 32), z5 = FloatVector.fromArray(F, zT, 40);
        FloatVector z6 = FloatVector.fromArray(F, zT, 48), z7 = FloatVector.fromArray(F, zT, 56);
        FloatVector e = z0.mul(z0).add(z1.mul(z1)).add(z2.mul(z2)).add(z3.mul(z3)).add(z4.mul(z4)).add(z5.mul(z5))
                .add(z6.mul(z6)).add(z7.mul(z7));
        e.intoArray(out, 0);
    }

    /** Floor of v given r = rint(v): r - 1 where r > v. */
    private static FloatVector floor(FloatVector v, FloatVector r) {
        return r.blend(r.sub(1f), r.compare(VectorOperators.GT, v)); // a blend: masked arithmetic is not intrinsic on AVX2
    }

    private static FloatVector rint(FloatVector v) {
        return v.add(MAGIC).sub(MAGIC);
    }

    /** Odd lanes of a vector of integers (exact in float): half minus its floor is not zero. */
    private static VectorMask<Float> odd(FloatVector sum) {
        FloatVector half = sum.mul(0.5f);
        return half.compare(VectorOperators.NE, floor(half, rint(half)));
    }

    // The per-lane state of the E8P16 search lives in Scratch.acc ([slot][8 lanes]) between the small methods below:
    // a vector never crosses a method or loop boundary, so the JIT keeps every one of them in registers (one large
    // method with loop-carried vectors exceeds its inlining budget and boxes them).
    private static final int D_INT = 0, D_HALF = 8, SUM_INT = 16, SUM_HALF = 24, W_ERR_INT = 32, W_ERR_HALF = 40,
            W_IDX_INT = 48, W_IDX_HALF = 56, ODD_INT = 64, ODD_HALF = 72, USE_INT = 80, KEY = 88, SIGN = 96, OVER = 104;

    /** Stage E8P16 on zT: codes[g0 + j] and the points into pT. Mirrors E8P16.encode + E8Lattice.nearest. */
    private static void p16(E8Codec.Scratch s, int[] codes, int g0, int lanes) {
        float[] acc = s.acc;
        java.util.Arrays.fill(acc, 0, 112, 0f);
        java.util.Arrays.fill(acc, W_ERR_INT, W_ERR_INT + 16, -1f);
        for (int i = 0; i < 8; i++) p16Nearest(s.zT, i, acc);
        p16Parity(acc);
        for (int i = 0; i < 8; i++) p16Point(s.zT, s.pT, s.hT, i, acc);
        for (int i = 0; i < 8; i++) p16Key(s.hT, i, acc);
        E8P16 cb = E8P16.INSTANCE;
        boolean anyOverload = false;
        for (int j = 0; j < lanes; j++) {
            int idx = acc[OVER + j] == 0f ? cb.indexOfKey[(int) acc[KEY + j]] : -1;
            if (idx >= 0) {
                codes[g0 + j] = idx | ((int) acc[SIGN + j] & 0x7f) << 8 | (int) acc[USE_INT + j] << 15;
            } else {
                codes[g0 + j] = -1;
                anyOverload = true;
            }
        }
        if (!anyOverload) return;
        // outside the codebook's ball: E8P16.searchAll for all eight lanes at once, used where needed
        overloadSearch(s);
        for (int j = 0; j < lanes; j++) {
            if (codes[g0 + j] != -1) continue;
            int code = overloadCode(s, j);
            codes[g0 + j] = code;
            cb.decode(code, s.point, 0);
            for (int i = 0; i < 8; i++) s.pT[8 * i + j] = s.point[i];
        }
    }

    // ---- E8P16.searchAll, lane-parallel. Slots of Scratch.ov ([slot][8 lanes]):
    private static final int OV_BEST = 0, OV_KIND = 8, OV_SHIFT = 16, OV_NEG0 = 24, OV_NEG1 = 32, OV_ARGMIN = 40,
            OV_COUNT = 48, OV_WW = 56, OV_ORBIT_BEST = 64, OV_ORBIT = 72, OV_DOT = 80, OV_MIN = 88, OV_ARG = 96;

    private static void overloadSearch(E8Codec.Scratch s) {
        E8P16 cb = E8P16.INSTANCE;
        float[] ov = s.ov;
        java.util.Arrays.fill(ov, OV_BEST, OV_BEST + 8, Float.NEGATIVE_INFINITY);
        for (int sb = 0; sb < 2; sb++) {
            float t = sb == 0 ? 0.25f : -0.25f;
            int[] keys = s.keys[sb];
            ovPrepare(s.zT, t, keys, ov, sb == 0 ? OV_NEG0 : OV_NEG1);
            ovSort(keys);
            for (int k = 0; k < 8; k++) ovRank(keys, s.ranks, k);
            java.util.Arrays.fill(ov, OV_ORBIT_BEST, OV_ORBIT_BEST + 8, Float.NEGATIVE_INFINITY);
            for (int o = 0; o < cb.orbitValues.length; o++) ovOrbit(s.ranks, ov, o, cb);
            ovTakeOrbit(ov, sb);
            for (int p : cb.loosePatterns) ovLoose(s.zT, t, ov, sb == 0 ? OV_NEG0 : OV_NEG1, p, sb, cb);
        }
    }

    /** w = z - t per coordinate: |w|²'s sum, the sign bits and the rank keys. */
    private static void ovPrepare(float[] zT, float t, int[] keys, float[] ov, int negSlot) {
        java.util.Arrays.fill(ov, OV_WW, OV_WW + 8, 0f);
        java.util.Arrays.fill(ov, negSlot, negSlot + 8, 0f);
        java.util.Arrays.fill(ov, OV_COUNT, OV_COUNT + 8, 0f);
        for (int i = 0; i < 8; i++) ovPrepareCoordinate(zT, t, ov, negSlot, i);
        for (int i = 0; i < 8; i++) ovKey(zT, t, keys, i);
        // the parity of the number of negative signs, 0 or 1
        FloatVector.zero(F).blend(1f, odd(FloatVector.fromArray(F, ov, OV_COUNT))).intoArray(ov, OV_COUNT);
    }

    /** The rank key of coordinate i: |w|'s bits with the index in the three lowest (E8P16.sortKey). */
    private static void ovKey(float[] zT, float t, int[] keys, int i) {
        FloatVector.fromArray(F, zT, 8 * i).sub(t).reinterpretAsInts().and(0x7ffffff8).or(i).intoArray(keys, 8 * i);
    }

    /** The (rounded) |w| of rank k: E8P16.rankValue. */
    private static void ovRank(int[] keys, float[] ranks, int k) {
        IntVector.fromArray(I, keys, 8 * k).and(~7).reinterpretAsFloats().intoArray(ranks, 8 * k);
    }

    private static void ovPrepareCoordinate(float[] zT, float t, float[] ov, int negSlot, int i) {
        FloatVector w = FloatVector.fromArray(F, zT, 8 * i).sub(t);
        FloatVector.fromArray(F, ov, OV_WW).add(w.mul(w)).intoArray(ov, OV_WW); // 0 + w0² is w0²: same sum as scalar
        VectorMask<Float> negative = w.compare(VectorOperators.LT, 0f);
        FloatVector neg = FloatVector.fromArray(F, ov, negSlot);
        neg.blend(neg.add((float) (1 << i)), negative).intoArray(ov, negSlot);
        FloatVector count = FloatVector.fromArray(F, ov, OV_COUNT);
        count.blend(count.add(1f), negative).intoArray(ov, OV_COUNT);
    }

    /** The 19-comparator network of E8P16.searchAll, decreasing, lane by lane. */
    private static void ovSort(int[] k) {
        IntVector k0 = IntVector.fromArray(I, k, 0), k1 = IntVector.fromArray(I, k, 8);
        IntVector k2 = IntVector.fromArray(I, k, 16), k3 = IntVector.fromArray(I, k, 24);
        IntVector k4 = IntVector.fromArray(I, k, 32), k5 = IntVector.fromArray(I, k, 40);
        IntVector k6 = IntVector.fromArray(I, k, 48), k7 = IntVector.fromArray(I, k, 56);
        IntVector a, b;
        a = k0.max(k1); b = k0.min(k1); k0 = a; k1 = b;
        a = k2.max(k3); b = k2.min(k3); k2 = a; k3 = b;
        a = k4.max(k5); b = k4.min(k5); k4 = a; k5 = b;
        a = k6.max(k7); b = k6.min(k7); k6 = a; k7 = b;
        a = k0.max(k2); b = k0.min(k2); k0 = a; k2 = b;
        a = k1.max(k3); b = k1.min(k3); k1 = a; k3 = b;
        a = k4.max(k6); b = k4.min(k6); k4 = a; k6 = b;
        a = k5.max(k7); b = k5.min(k7); k5 = a; k7 = b;
        a = k1.max(k2); b = k1.min(k2); k1 = a; k2 = b;
        a = k5.max(k6); b = k5.min(k6); k5 = a; k6 = b;
        a = k0.max(k4); b = k0.min(k4); k0 = a; k4 = b;
        a = k3.max(k7); b = k3.min(k7); k3 = a; k7 = b;
        a = k1.max(k5); b = k1.min(k5); k1 = a; k5 = b;
        a = k2.max(k6); b = k2.min(k6); k2 = a; k6 = b;
        a = k1.max(k4); b = k1.min(k4); k1 = a; k4 = b;
        a = k3.max(k6); b = k3.min(k6); k3 = a; k6 = b;
        a = k2.max(k4); b = k2.min(k4); k2 = a; k4 = b;
        a = k3.max(k5); b = k3.min(k5); k3 = a; k5 = b;
        a = k3.max(k4); b = k3.min(k4); k3 = a; k4 = b;
        k0.intoArray(k, 0);
        k1.intoArray(k, 8);
        k2.intoArray(k, 16);
        k3.intoArray(k, 24);
        k4.intoArray(k, 32);
        k5.intoArray(k, 40);
        k6.intoArray(k, 48);
        k7.intoArray(k, 56);
    }

    /** Orbit o's score per lane; keeps the first best orbit. */
    private static void ovOrbit(float[] u, float[] ov, int o, E8P16 cb) {
        float[] m = cb.orbitValues[o];
        FloatVector u7 = FloatVector.fromArray(F, u, 56);
        FloatVector dot = FloatVector.fromArray(F, u, 0).mul(m[0]).add(FloatVector.fromArray(F, u, 8).mul(m[1]))
                .add(FloatVector.fromArray(F, u, 16).mul(m[2])).add(FloatVector.fromArray(F, u, 24).mul(m[3]))
                .add(FloatVector.fromArray(F, u, 32).mul(m[4])).add(FloatVector.fromArray(F, u, 40).mul(m[5]))
                .add(FloatVector.fromArray(F, u, 48).mul(m[6])).add(u7.mul(m[7]));
        VectorMask<Float> mismatch = FloatVector.fromArray(F, ov, OV_COUNT).compare(VectorOperators.NE, (float) cb.orbitParity[o]);
        dot = dot.blend(dot.sub(u7), mismatch);
        FloatVector score = dot.sub(0.5f * cb.orbitNorm2[o]).add(FloatVector.fromArray(F, ov, OV_WW).mul(-0.5f));
        FloatVector best = FloatVector.fromArray(F, ov, OV_ORBIT_BEST);
        VectorMask<Float> gt = score.compare(VectorOperators.GT, best);
        best.blend(score, gt).intoArray(ov, OV_ORBIT_BEST);
        FloatVector.fromArray(F, ov, OV_ORBIT).blend((float) o, gt).intoArray(ov, OV_ORBIT);
    }

    /** After a shift's orbits: its best orbit replaces the overall best where it is strictly better. */
    private static void ovTakeOrbit(float[] ov, int sb) {
        FloatVector score = FloatVector.fromArray(F, ov, OV_ORBIT_BEST);
        FloatVector best = FloatVector.fromArray(F, ov, OV_BEST);
        VectorMask<Float> gt = score.compare(VectorOperators.GT, best);
        best.blend(score, gt).intoArray(ov, OV_BEST);
        FloatVector.fromArray(F, ov, OV_KIND).blend(FloatVector.fromArray(F, ov, OV_ORBIT), gt).intoArray(ov, OV_KIND);
        FloatVector.fromArray(F, ov, OV_SHIFT).blend((float) sb, gt).intoArray(ov, OV_SHIFT);
    }

    /** The loose pattern p: exact |w| products, the cheapest flip, and the overall best where strictly better. */
    private static void ovLoose(float[] zT, float t, float[] ov, int negSlot, int p, int sb, E8P16 cb) {
        java.util.Arrays.fill(ov, OV_DOT, OV_DOT + 8, 0f);
        java.util.Arrays.fill(ov, OV_MIN, OV_MIN + 8, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(ov, OV_ARG, OV_ARG + 8, 0f);
        for (int i = 0; i < 8; i++) ovLooseCoordinate(zT, t, ov, cb.abs[p * 8 + i], i);
        FloatVector dot = FloatVector.fromArray(F, ov, OV_DOT);
        FloatVector min = FloatVector.fromArray(F, ov, OV_MIN);
        VectorMask<Float> mismatch = FloatVector.fromArray(F, ov, OV_COUNT).compare(VectorOperators.NE, (float) cb.parity[p]);
        dot = dot.blend(dot.sub(min.mul(2f)), mismatch);
        FloatVector score = dot.sub(0.5f * cb.norm2[p]).add(FloatVector.fromArray(F, ov, OV_WW).mul(-0.5f));
        FloatVector best = FloatVector.fromArray(F, ov, OV_BEST);
        VectorMask<Float> gt = score.compare(VectorOperators.GT, best);
        best.blend(score, gt).intoArray(ov, OV_BEST);
        FloatVector.fromArray(F, ov, OV_KIND).blend(1000f + p, gt).intoArray(ov, OV_KIND);
        FloatVector.fromArray(F, ov, OV_SHIFT).blend((float) sb, gt).intoArray(ov, OV_SHIFT);
        FloatVector arg = FloatVector.fromArray(F, ov, OV_ARG).blend(-1f, mismatch.not());
        FloatVector.fromArray(F, ov, OV_ARGMIN).blend(arg, gt).intoArray(ov, OV_ARGMIN);
    }

    private static void ovLooseCoordinate(float[] zT, float t, float[] ov, float a, int i) {
        FloatVector v = FloatVector.fromArray(F, zT, 8 * i).sub(t).abs().mul(a);
        FloatVector.fromArray(F, ov, OV_DOT).add(v).intoArray(ov, OV_DOT);
        FloatVector min = FloatVector.fromArray(F, ov, OV_MIN);
        VectorMask<Float> lt = v.compare(VectorOperators.LT, min);
        min.blend(v, lt).intoArray(ov, OV_MIN);
        FloatVector.fromArray(F, ov, OV_ARG).blend((float) i, lt).intoArray(ov, OV_ARG);
    }

    /** The code lane j's search chose, built as E8P16.searchAll builds it. */
    private static int overloadCode(E8Codec.Scratch s, int j) {
        E8P16 cb = E8P16.INSTANCE;
        float[] ov = s.ov;
        int sb = (int) ov[OV_SHIFT + j];
        int kind = (int) ov[OV_KIND + j];
        int negMask = (int) ov[(sb == 0 ? OV_NEG0 : OV_NEG1) + j];
        if (kind >= 1000) {
            int p = kind - 1000;
            int arg = (int) ov[OV_ARGMIN + j];
            int mask = arg >= 0 ? negMask ^ (1 << arg) : negMask;
            return p | (mask & 0x7f) << 8 | sb << 15;
        }
        int[] k = s.keys[sb];
        return cb.orbitCode(kind, negMask, Integer.bitCount(negMask) & 1, sb, k[j], k[8 + j], k[16 + j], k[24 + j],
                k[32 + j], k[40 + j], k[48 + j], k[56 + j]);
    }

    /** Coordinate i of the two coset roundings: distances, sums, worst coordinates. */
    private static void p16Nearest(float[] zT, int i, float[] acc) {
        FloatVector v = FloatVector.fromArray(F, zT, 8 * i).sub(0.25f);
        FloatVector r = rint(v);
        FloatVector e = v.sub(r).abs();
        FloatVector.fromArray(F, acc, D_INT).add(e.mul(e)).intoArray(acc, D_INT);
        FloatVector.fromArray(F, acc, SUM_INT).add(r).intoArray(acc, SUM_INT);
        FloatVector wErr = FloatVector.fromArray(F, acc, W_ERR_INT);
        VectorMask<Float> gt = e.compare(VectorOperators.GT, wErr);
        wErr.blend(e, gt).intoArray(acc, W_ERR_INT);
        FloatVector.fromArray(F, acc, W_IDX_INT).blend((float) i, gt).intoArray(acc, W_IDX_INT);
        FloatVector f = floor(v, r);
        FloatVector eh = v.sub(f.add(0.5f)).abs();
        FloatVector.fromArray(F, acc, D_HALF).add(eh.mul(eh)).intoArray(acc, D_HALF);
        FloatVector.fromArray(F, acc, SUM_HALF).add(f).intoArray(acc, SUM_HALF);
        FloatVector wErrH = FloatVector.fromArray(F, acc, W_ERR_HALF);
        VectorMask<Float> gth = eh.compare(VectorOperators.GT, wErrH);
        wErrH.blend(eh, gth).intoArray(acc, W_ERR_HALF);
        FloatVector.fromArray(F, acc, W_IDX_HALF).blend((float) i, gth).intoArray(acc, W_IDX_HALF);
    }

    /** The parity fixes' costs and the choice of coset. */
    private static void p16Parity(float[] acc) {
        VectorMask<Float> oddInt = odd(FloatVector.fromArray(F, acc, SUM_INT));
        VectorMask<Float> oddHalf = odd(FloatVector.fromArray(F, acc, SUM_HALF));
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector dInt = FloatVector.fromArray(F, acc, D_INT);
        dInt = dInt.blend(dInt.add(one.sub(FloatVector.fromArray(F, acc, W_ERR_INT).mul(2f))), oddInt);
        FloatVector dHalf = FloatVector.fromArray(F, acc, D_HALF);
        dHalf = dHalf.blend(dHalf.add(one.sub(FloatVector.fromArray(F, acc, W_ERR_HALF).mul(2f))), oddHalf);
        FloatVector zero = FloatVector.zero(F);
        zero.blend(one, oddInt).intoArray(acc, ODD_INT);
        zero.blend(one, oddHalf).intoArray(acc, ODD_HALF);
        zero.blend(one, dInt.compare(VectorOperators.LE, dHalf)).intoArray(acc, USE_INT);
    }

    /** Coordinate i of the chosen point: its codebook point (y + 1/4) into pT, h = y (+ 1/2 in coset D8) into hT. */
    private static void p16Point(float[] zT, float[] pT, float[] hT, int i, float[] acc) {
        FloatVector v = FloatVector.fromArray(F, zT, 8 * i).sub(0.25f);
        FloatVector r = rint(v);
        FloatVector f = floor(v, r);
        FloatVector useIntF = FloatVector.fromArray(F, acc, USE_INT);
        VectorMask<Float> fixInt = FloatVector.fromArray(F, acc, ODD_INT).compare(VectorOperators.NE, 0f)
                .and(FloatVector.fromArray(F, acc, W_IDX_INT).compare(VectorOperators.EQ, (float) i));
        VectorMask<Float> fixHalf = FloatVector.fromArray(F, acc, ODD_HALF).compare(VectorOperators.NE, 0f)
                .and(FloatVector.fromArray(F, acc, W_IDX_HALF).compare(VectorOperators.EQ, (float) i));
        // coset D8: r, or its other neighbour at the worst coordinate when the sum is odd
        FloatVector altInt = r.add(FloatVector.broadcast(F, -1f).blend(1f, v.compare(VectorOperators.GT, r)));
        FloatVector yInt = r.blend(altInt, fixInt);
        // coset D8 + 1/2: f + 1/2, or the other neighbour
        FloatVector fh = f.add(0.5f);
        FloatVector altHalf = f.add(-0.5f).blend(f.add(1.5f), v.compare(VectorOperators.GT, fh));
        FloatVector yHalf = fh.blend(altHalf, fixHalf);
        FloatVector y = yHalf.blend(yInt, useIntF.compare(VectorOperators.NE, 0f));
        y.add(0.25f).intoArray(pT, 8 * i);
        y.add(useIntF.mul(0.5f)).intoArray(hT, 8 * i);
    }

    /** Coordinate i of the pattern key (digit (|2h| - 1) / 2 times 3^i), the overflow flag and the sign bits. */
    private static void p16Key(float[] hT, int i, float[] acc) {
        FloatVector h = FloatVector.fromArray(F, hT, 8 * i);
        FloatVector a2 = h.mul(2f).abs();
        FloatVector.fromArray(F, acc, OVER).blend(1f, a2.compare(VectorOperators.GT, 5f)).intoArray(acc, OVER);
        FloatVector.fromArray(F, acc, KEY).add(a2.sub(1f).mul(0.5f).mul(POW3[i])).intoArray(acc, KEY);
        FloatVector sign = FloatVector.fromArray(F, acc, SIGN);
        sign.blend(sign.add((float) (1 << i)), h.compare(VectorOperators.LT, 0f)).intoArray(acc, SIGN);
    }

    private static final int A1 = 0, A2 = 8, I1 = 16, I2 = 24, SUM_ABS = 32, MIN_ABS = 40, MIN_AT = 48, NEG = 56;

    /** Stage E8Root8 on zT: codes[g0 + j] and the points into pT. Mirrors E8Root8.nearest. */
    private static void r8(E8Codec.Scratch s, int[] codes, int g0, int lanes) {
        float[] acc = s.acc;
        java.util.Arrays.fill(acc, 0, 32, -1f);
        java.util.Arrays.fill(acc, 32, 64, 0f);
        java.util.Arrays.fill(acc, MIN_ABS, MIN_ABS + 8, Float.POSITIVE_INFINITY);
        for (int i = 0; i < 8; i++) r8Coordinate(s.zT, i, acc);
        E8Root8 cb = E8Root8.INSTANCE;
        for (int j = 0; j < lanes; j++) {
            int code = cb.choose(acc[A1 + j], acc[A2 + j], (int) acc[I1 + j], (int) acc[I2 + j], acc[SUM_ABS + j],
                    acc[MIN_ABS + j], (int) acc[MIN_AT + j], (int) acc[NEG + j]);
            codes[g0 + j] = code;
            for (int i = 0; i < 8; i++) s.pT[8 * i + j] = cb.points[code * 8 + i];
        }
    }

    /** Coordinate i: the two largest |z|, the sum and the smallest of |z|, the signs. */
    private static void r8Coordinate(float[] zT, int i, float[] acc) {
        FloatVector v = FloatVector.fromArray(F, zT, 8 * i);
        FloatVector a = v.abs();
        FloatVector.fromArray(F, acc, SUM_ABS).add(a).intoArray(acc, SUM_ABS);
        FloatVector neg = FloatVector.fromArray(F, acc, NEG);
        neg.blend(neg.add((float) (1 << i)), v.compare(VectorOperators.LT, 0f)).intoArray(acc, NEG);
        FloatVector minAbs = FloatVector.fromArray(F, acc, MIN_ABS);
        VectorMask<Float> lt = a.compare(VectorOperators.LT, minAbs);
        minAbs.blend(a, lt).intoArray(acc, MIN_ABS);
        FloatVector.fromArray(F, acc, MIN_AT).blend((float) i, lt).intoArray(acc, MIN_AT);
        FloatVector a1 = FloatVector.fromArray(F, acc, A1), a2 = FloatVector.fromArray(F, acc, A2), i1 = FloatVector.fromArray(F, acc, I1), i2 = FloatVector.fromArray(F, acc, I2);
        VectorMask<Float> gt1 = a.compare(VectorOperators.GT, a1);
        VectorMask<Float> gt2 = a.compare(VectorOperators.GT, a2).andNot(gt1);
        a2.blend(a1, gt1).blend(a, gt2).intoArray(acc, A2);
        i2.blend(i1, gt1).blend((float) i, gt2).intoArray(acc, I2);
        a1.blend(a, gt1).intoArray(acc, A1);
        i1.blend((float) i, gt1).intoArray(acc, I1);
    }
}
