package dev.nexusquant.codec.e8;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The encoder's inner loop with the Vector API: one lane per group of eight values, as many groups at a time as the
 * machine's widest float vector holds ({@link #LANES}: 16 with AVX-512, 8 with AVX2). The eight coordinates of a
 * batch of groups are eight vectors (a structure of arrays, {@code zT[coordinate][lane]}), and each lane carries its
 * own scale, so one batch may hold groups of several scale groups and several vectors. The nearest-point searches
 * (Conway-Sloane for E8P16 with the orbit search for points outside its ball, the three root families for E8Root8)
 * run without a branch per group.
 *
 * <p>It reproduces {@link E8Codec#quantizeScalar} bit for bit: the same float operations in the same order per lane
 * ({@code rint} as {@code (v + 1.5·2^23) - 1.5·2^23}, exact for |v| &lt; 2^22; {@code floor} from it), the same
 * first-maximum tie-breaking, and the scalar code where it is irregular: the table lookup of a pattern and the code
 * of an orbit ({@link E8P16#orbitCode}), per lane.
 *
 * <p>Every kernel keeps its vectors in local variables inside one method with no calls that take or return a vector,
 * so that C2 keeps them in registers (a vector that crosses a call that is not inlined is boxed on the heap). The
 * work arrays in {@link Batch} carry values between the phases only.
 */
final class VectorE8Encoder {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Groups per batch. */
    static final int LANES = F.length();
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final float[] POW3 = {1, 3, 9, 27, 81, 243, 729, 2187};
    /** x offsets of lane j's coordinate 0 relative to the first group: 8 j. */
    private static final int[] GATHER = new int[LANES];

    static {
        for (int j = 0; j < LANES; j++) GATHER[j] = 8 * j;
        if (I.length() != LANES) throw new AssertionError("float and int species differ in lanes");
    }

    private VectorE8Encoder() {
    }

    /** Per-thread work space of one batch. */
    static final class Batch {
        /** [8][LANES] the values a stage codes, then its residual. */
        final float[] zT = new float[8 * LANES];
        /** [8][LANES] the points a stage chose, and those of the first stage. */
        final float[] pT = new float[8 * LANES];
        final float[] p0 = new float[8 * LANES];
        /** [LANES] 1 / scale of each lane. */
        final float[] inv = new float[LANES];
        /** [LANES] results and per-lane state handed from the vector phases to the per-lane ones. */
        final int[] key = new int[LANES];
        final int[] code = new int[LANES];
        final float[] err = new float[LANES];
        /** [2 shifts][8 ranks][LANES] sorted rank keys of the overload search, and [2][LANES] sign masks. */
        final int[] sorted = new int[2 * 8 * LANES];
        final int[] neg = new int[2 * LANES];
        /** [LANES] the overload search's choice: kind (orbit, or 1000 + loose pattern), shift, flipped coordinate. */
        final int[] kind = new int[LANES];
        final int[] shift = new int[LANES];
        final int[] argMin = new int[LANES];
        /** [8][LANES] the E8Root8 statistics: a1, a2, i1, i2, sum |z|, min |z|, its index, sign bits. */
        final float[] r8 = new float[8 * LANES];
        /** [STATE_SLOTS][LANES] per-lane values handed between the phases of a stage. */
        final float[] state = new float[STATE_SLOTS * LANES];
    }

    /**
     * Quantizes {@code lanes} groups (at most {@link #LANES}) whose values lie back to back at {@code x[at ..]}, lane j
     * at scale {@code 1 / b.inv[j]}: {@code codes[stage][first + j]} and, per lane, the squared error at unit scale
     * (the residual's sum of squares) into {@code err[first + j]}, and the decoded values at unit scale
     * ({@code c_0 + w_1 c_1}, as {@code E8Codec.unitDecode} computes them) into {@code unit[8 (first + j) ..]}.
     */
    static void quantize(E8Codec c, float[] x, int at, int lanes, Batch b, int[][] codes, int first, float[] err,
                         float[] unit) {
        float[] zT = b.zT;
        FloatVector lo = FloatVector.broadcast(F, -E8Codec.CLAMP);
        FloatVector hi = FloatVector.broadcast(F, E8Codec.CLAMP);
        FloatVector inv = FloatVector.fromArray(F, b.inv, 0);
        if (lanes == LANES) {
            for (int i = 0; i < 8; i++) {
                FloatVector.fromArray(F, x, at + i, GATHER, 0).mul(inv).max(lo).min(hi).intoArray(zT, LANES * i);
            }
        } else {
            java.util.Arrays.fill(zT, 0f);
            for (int j = 0; j < lanes; j++) {
                for (int i = 0; i < 8; i++) zT[LANES * i + j] = E8Codec.clamp(x[at + 8 * j + i] * b.inv[j]);
            }
        }
        int stages = c.books.length;
        for (int st = 0; st < stages; st++) {
            if (st > 0) scale(zT, 1f / c.weights[st]);
            if (c.books[st] == E8Codec.BOOK_P16) {
                p16(b, codes[st], first, lanes);
            } else {
                r8(b, codes[st], first, lanes);
            }
            residual(zT, b.pT, st > 0 ? c.weights[st] : 1f, st > 0, b.err, st == stages - 1);
            if (st == 0 && stages > 1) System.arraycopy(b.pT, 0, b.p0, 0, 8 * LANES);
        }
        System.arraycopy(b.err, 0, err, first, lanes);
        if (stages > 1) combine(b.p0, b.pT, c.weights[1]);
        float[] u = stages > 1 ? b.p0 : b.pT;
        int base = 8 * first;
        for (int j = 0; j < lanes; j++) { // a plain transpose: faster here than a scatter
            for (int i = 0; i < 8; i++) unit[base + 8 * j + i] = u[LANES * i + j];
        }
    }

    /** p0 += w · p1: the unit-scale value of two stages. */
    private static void combine(float[] p0, float[] p1, float w) {
        for (int i = 0; i < 8; i++) {
            FloatVector.fromArray(F, p0, LANES * i).add(FloatVector.fromArray(F, p1, LANES * i).mul(w)).intoArray(p0, LANES * i);
        }
    }

    private static void scale(float[] zT, float s) {
        for (int i = 0; i < 8; i++) FloatVector.fromArray(F, zT, LANES * i).mul(s).intoArray(zT, LANES * i);
    }

    /** zT -= pT (then times w after the first stage); on the last stage also the per-lane sum of squares. */
    private static void residual(float[] zT, float[] pT, float w, boolean weighted, float[] err, boolean last) {
        FloatVector e = FloatVector.zero(F);
        for (int i = 0; i < 8; i++) {
            FloatVector z = FloatVector.fromArray(F, zT, LANES * i).sub(FloatVector.fromArray(F, pT, LANES * i));
            if (weighted) z = z.mul(w);
            z.intoArray(zT, LANES * i);
            e = e.add(z.mul(z)); // 0 + z0² is z0²: the scalar sum's order
        }
        if (last) e.intoArray(err, 0);
    }

    private static FloatVector rint(FloatVector v) {
        return v.add(MAGIC).sub(MAGIC);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // E8P16: E8P16.encode and E8Lattice.nearest, lane-parallel

    // Slots of Batch.state ([slot][LANES]) that carry per-lane values from one phase to the next. A phase is a method
    // of its own because C2 stops inlining the Vector API's methods in a method past about 18,000 IR nodes
    // (NodeCountInliningCutoff) and then boxes every vector.
    private static final int ODD_INT = 0, ODD_HALF = 1, USE_INT = 2, W_IDX_INT = 3, W_IDX_HALF = 4;
    private static final int OV_BEST = 5, OV_KIND = 6, OV_SHIFT = 7, OV_ARG = 8, OV_PARITY = 9, OV_OFFSET = 10;
    static final int STATE_SLOTS = 11;

    private static void p16(Batch b, int[] codes, int first, int lanes) {
        p16Nearest(b);
        p16Point(b);
        short[] indexOfKey = E8P16.INSTANCE.indexOfKey;
        boolean anyOverload = false;
        for (int j = 0; j < lanes; j++) {
            int k = b.key[j];
            int idx = k >= 0 ? indexOfKey[k] : -1;
            if (idx >= 0) {
                codes[first + j] = idx | b.code[j];
            } else {
                codes[first + j] = -1;
                anyOverload = true;
            }
        }
        if (!anyOverload) return;
        overloadSearch(b);
        E8P16 cb = E8P16.INSTANCE;
        float[] pT = b.pT;
        for (int j = 0; j < lanes; j++) {
            if (codes[first + j] != -1) continue;
            int code = overloadCode(b, j, cb);
            codes[first + j] = code;
            // the point σ∘a + shift, as E8P16.decode builds it
            int p = (code & 0xff) * 8;
            int s = cb.signs(code);
            float t = E8P16.shift(code);
            for (int i = 0; i < 8; i++) {
                float a = cb.abs[p + i];
                pT[LANES * i + j] = (((s >>> i) & 1) != 0 ? -a : a) + t;
            }
        }
    }

    /** E8Lattice.nearest's first part on v = z - 1/4: the two coset roundings, their parity fixes, the coset. */
    private static void p16Nearest(Batch b) {
        float[] zT = b.zT;
        // the two coset roundings of v = z - 1/4: squared distances, coordinate sums, worst coordinates
        FloatVector dInt = FloatVector.zero(F), dHalf = FloatVector.zero(F);
        FloatVector sumInt = FloatVector.zero(F), sumHalf = FloatVector.zero(F);
        FloatVector wErrInt = FloatVector.broadcast(F, -1f), wErrHalf = FloatVector.broadcast(F, -1f);
        FloatVector wIdxInt = FloatVector.zero(F), wIdxHalf = FloatVector.zero(F);
        for (int i = 0; i < 8; i++) {
            FloatVector v = FloatVector.fromArray(F, zT, LANES * i).sub(0.25f);
            FloatVector r = rint(v);
            FloatVector e = v.sub(r).abs();
            dInt = dInt.add(e.mul(e));
            sumInt = sumInt.add(r);
            VectorMask<Float> gt = e.compare(VectorOperators.GT, wErrInt);
            wErrInt = wErrInt.blend(e, gt);
            wIdxInt = wIdxInt.blend((float) i, gt);
            FloatVector f = r.blend(r.sub(1f), r.compare(VectorOperators.GT, v));
            FloatVector eh = v.sub(f.add(0.5f)).abs();
            dHalf = dHalf.add(eh.mul(eh));
            sumHalf = sumHalf.add(f);
            VectorMask<Float> gth = eh.compare(VectorOperators.GT, wErrHalf);
            wErrHalf = wErrHalf.blend(eh, gth);
            wIdxHalf = wIdxHalf.blend((float) i, gth);
        }
        // parity fixes (an odd coordinate sum moves the worst coordinate to its other neighbour) and the coset
        FloatVector hInt = sumInt.mul(0.5f), hHalf = sumHalf.mul(0.5f);
        FloatVector rInt = rint(hInt), rHalf = rint(hHalf);
        VectorMask<Float> oddInt = hInt.compare(VectorOperators.NE, rInt.blend(rInt.sub(1f), rInt.compare(VectorOperators.GT, hInt)));
        VectorMask<Float> oddHalf = hHalf.compare(VectorOperators.NE, rHalf.blend(rHalf.sub(1f), rHalf.compare(VectorOperators.GT, hHalf)));
        dInt = dInt.blend(dInt.add(FloatVector.broadcast(F, 1f).sub(wErrInt.mul(2f))), oddInt);
        dHalf = dHalf.blend(dHalf.add(FloatVector.broadcast(F, 1f).sub(wErrHalf.mul(2f))), oddHalf);
        VectorMask<Float> useInt = dInt.compare(VectorOperators.LE, dHalf);
        float[] st = b.state;
        FloatVector zero = FloatVector.zero(F);
        zero.blend(1f, oddInt).intoArray(st, ODD_INT * LANES);
        zero.blend(1f, oddHalf).intoArray(st, ODD_HALF * LANES);
        zero.blend(1f, useInt).intoArray(st, USE_INT * LANES);
        wIdxInt.intoArray(st, W_IDX_INT * LANES);
        wIdxHalf.intoArray(st, W_IDX_HALF * LANES);
    }

    /** The chosen point y + 1/4 into pT; from h = y (+ 1/2 in coset D8) the pattern key and the rest of the code. */
    private static void p16Point(Batch b) {
        float[] zT = b.zT;
        float[] pT = b.pT;
        float[] st = b.state;
        VectorMask<Float> oddInt = FloatVector.fromArray(F, st, ODD_INT * LANES).compare(VectorOperators.NE, 0f);
        VectorMask<Float> oddHalf = FloatVector.fromArray(F, st, ODD_HALF * LANES).compare(VectorOperators.NE, 0f);
        VectorMask<Float> useInt = FloatVector.fromArray(F, st, USE_INT * LANES).compare(VectorOperators.NE, 0f);
        FloatVector wIdxInt = FloatVector.fromArray(F, st, W_IDX_INT * LANES);
        FloatVector wIdxHalf = FloatVector.fromArray(F, st, W_IDX_HALF * LANES);
        // (a mask is never carried across a loop iteration or merged from two branches: C2 would box it)
        FloatVector key = FloatVector.zero(F), sign = FloatVector.zero(F), maxA2 = FloatVector.zero(F);
        for (int i = 0; i < 8; i++) {
            FloatVector v = FloatVector.fromArray(F, zT, LANES * i).sub(0.25f);
            FloatVector r = rint(v);
            FloatVector f = r.blend(r.sub(1f), r.compare(VectorOperators.GT, v));
            VectorMask<Float> fixInt = oddInt.and(wIdxInt.compare(VectorOperators.EQ, (float) i));
            VectorMask<Float> fixHalf = oddHalf.and(wIdxHalf.compare(VectorOperators.EQ, (float) i));
            FloatVector altInt = r.add(FloatVector.broadcast(F, -1f).blend(1f, v.compare(VectorOperators.GT, r)));
            FloatVector yInt = r.blend(altInt, fixInt);
            FloatVector fh = f.add(0.5f);
            FloatVector altHalf = f.add(-0.5f).blend(f.add(1.5f), v.compare(VectorOperators.GT, fh));
            FloatVector yHalf = fh.blend(altHalf, fixHalf);
            FloatVector y = yHalf.blend(yInt, useInt);
            y.add(0.25f).intoArray(pT, LANES * i);
            FloatVector h = y.blend(y.add(0.5f), useInt);
            FloatVector a2 = h.mul(2f).abs();
            maxA2 = maxA2.max(a2);
            key = key.add(a2.sub(1f).mul(0.5f * POW3[i]));
            sign = sign.blend(sign.add((float) (1 << i)), h.compare(VectorOperators.LT, 0f));
        }
        // code = index | signs 0..6 << 8 | shift << 15, or -1 where the pattern is not in the table
        VectorMask<Float> over = maxA2.compare(VectorOperators.GT, 5f);
        IntVector keyI = ((IntVector) key.convert(VectorOperators.F2I, 0)).blend(-1, over.cast(I));
        IntVector rest = ((IntVector) sign.convert(VectorOperators.F2I, 0)).and(0x7f).lanewise(VectorOperators.LSHL, 8)
                .or(IntVector.zero(I).blend(1 << 15, useInt.cast(I)));
        keyI.intoArray(b.key, 0);
        rest.intoArray(b.code, 0);
    }

    /**
     * E8P16.searchAll for every lane: for each shift t, the coordinates of {@code w = z - t} ranked by |w| (a sorting
     * network on integer keys), the best pattern of each complete orbit by the rearrangement inequality, and the loose
     * patterns one by one; the overall best (first strict maximum) per lane into {@code b.kind, b.shift, b.argMin}.
     */
    private static void overloadSearch(Batch b) {
        float[] st = b.state;
        java.util.Arrays.fill(st, OV_BEST * LANES, (OV_BEST + 1) * LANES, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(st, OV_KIND * LANES, (OV_ARG + 1) * LANES, 0f);
        for (int sb = 0; sb < 2; sb++) {
            ovSort(b, sb);
            ovOrbits(b, sb);
            ovLoose(b, sb);
        }
        for (int j = 0; j < LANES; j++) {
            b.kind[j] = (int) st[OV_KIND * LANES + j];
            b.shift[j] = (int) st[OV_SHIFT * LANES + j];
            b.argMin[j] = (int) st[OV_ARG * LANES + j];
        }
    }

    /** Shift sb: |w|², the sign bits and their parity, and the rank keys sorted decreasing. */
    private static void ovSort(Batch b, int sb) {
        float[] zT = b.zT;
        int[] sorted = b.sorted;
        float t = sb == 0 ? 0.25f : -0.25f;
        FloatVector ww = FloatVector.zero(F);
        IntVector neg = IntVector.zero(I);
        FloatVector count = FloatVector.zero(F);
        int keys = sb * 8 * LANES;
        for (int i = 0; i < 8; i++) {
            FloatVector w = FloatVector.fromArray(F, zT, LANES * i).sub(t);
            ww = ww.add(w.mul(w)); // 0 + w0² is w0²: the scalar sum's order
            VectorMask<Float> negative = w.compare(VectorOperators.LT, 0f);
            neg = neg.blend(neg.or(1 << i), negative.cast(I));
            count = count.blend(count.add(1f), negative);
            // the rank key: |w|'s bits with the coordinate in the three lowest (E8P16.sortKey)
            w.reinterpretAsInts().and(0x7ffffff8).or(i).intoArray(sorted, keys + LANES * i);
        }
        neg.intoArray(b.neg, sb * LANES);
        FloatVector half = count.mul(0.5f);
        FloatVector rounded = rint(half);
        VectorMask<Float> odd = half.compare(VectorOperators.NE,
                rounded.blend(rounded.sub(1f), rounded.compare(VectorOperators.GT, half)));
        FloatVector.zero(F).blend(1f, odd).intoArray(b.state, OV_PARITY * LANES);
        ww.mul(-0.5f).intoArray(b.state, OV_OFFSET * LANES);
        // sort decreasing: the 19-comparator network of E8P16.searchAll
        IntVector k0 = IntVector.fromArray(I, sorted, keys), k1 = IntVector.fromArray(I, sorted, keys + LANES);
        IntVector k2 = IntVector.fromArray(I, sorted, keys + 2 * LANES), k3 = IntVector.fromArray(I, sorted, keys + 3 * LANES);
        IntVector k4 = IntVector.fromArray(I, sorted, keys + 4 * LANES), k5 = IntVector.fromArray(I, sorted, keys + 5 * LANES);
        IntVector k6 = IntVector.fromArray(I, sorted, keys + 6 * LANES), k7 = IntVector.fromArray(I, sorted, keys + 7 * LANES);
        IntVector a, c;
        a = k0.max(k1); c = k0.min(k1); k0 = a; k1 = c;
        a = k2.max(k3); c = k2.min(k3); k2 = a; k3 = c;
        a = k4.max(k5); c = k4.min(k5); k4 = a; k5 = c;
        a = k6.max(k7); c = k6.min(k7); k6 = a; k7 = c;
        a = k0.max(k2); c = k0.min(k2); k0 = a; k2 = c;
        a = k1.max(k3); c = k1.min(k3); k1 = a; k3 = c;
        a = k4.max(k6); c = k4.min(k6); k4 = a; k6 = c;
        a = k5.max(k7); c = k5.min(k7); k5 = a; k7 = c;
        a = k1.max(k2); c = k1.min(k2); k1 = a; k2 = c;
        a = k5.max(k6); c = k5.min(k6); k5 = a; k6 = c;
        a = k0.max(k4); c = k0.min(k4); k0 = a; k4 = c;
        a = k3.max(k7); c = k3.min(k7); k3 = a; k7 = c;
        a = k1.max(k5); c = k1.min(k5); k1 = a; k5 = c;
        a = k2.max(k6); c = k2.min(k6); k2 = a; k6 = c;
        a = k1.max(k4); c = k1.min(k4); k1 = a; k4 = c;
        a = k3.max(k6); c = k3.min(k6); k3 = a; k6 = c;
        a = k2.max(k4); c = k2.min(k4); k2 = a; k4 = c;
        a = k3.max(k5); c = k3.min(k5); k3 = a; k5 = c;
        a = k3.max(k4); c = k3.min(k4); k3 = a; k4 = c;
        k0.intoArray(sorted, keys);
        k1.intoArray(sorted, keys + LANES);
        k2.intoArray(sorted, keys + 2 * LANES);
        k3.intoArray(sorted, keys + 3 * LANES);
        k4.intoArray(sorted, keys + 4 * LANES);
        k5.intoArray(sorted, keys + 5 * LANES);
        k6.intoArray(sorted, keys + 6 * LANES);
        k7.intoArray(sorted, keys + 7 * LANES);
    }

    /** Shift sb: each complete orbit's score on the ranked |w|; the first best replaces the overall best if better. */
    private static void ovOrbits(Batch b, int sb) {
        E8P16 cb = E8P16.INSTANCE;
        int[] sorted = b.sorted;
        float[] st = b.state;
        int keys = sb * 8 * LANES;
        // the rounded |w| of each rank (E8P16.rankValue)
        FloatVector u0 = IntVector.fromArray(I, sorted, keys).and(~7).reinterpretAsFloats();
        FloatVector u1 = IntVector.fromArray(I, sorted, keys + LANES).and(~7).reinterpretAsFloats();
        FloatVector u2 = IntVector.fromArray(I, sorted, keys + 2 * LANES).and(~7).reinterpretAsFloats();
        FloatVector u3 = IntVector.fromArray(I, sorted, keys + 3 * LANES).and(~7).reinterpretAsFloats();
        FloatVector u4 = IntVector.fromArray(I, sorted, keys + 4 * LANES).and(~7).reinterpretAsFloats();
        FloatVector u5 = IntVector.fromArray(I, sorted, keys + 5 * LANES).and(~7).reinterpretAsFloats();
        FloatVector u6 = IntVector.fromArray(I, sorted, keys + 6 * LANES).and(~7).reinterpretAsFloats();
        FloatVector u7 = IntVector.fromArray(I, sorted, keys + 7 * LANES).and(~7).reinterpretAsFloats();
        FloatVector parity = FloatVector.fromArray(F, st, OV_PARITY * LANES);
        FloatVector offset = FloatVector.fromArray(F, st, OV_OFFSET * LANES);
        FloatVector orbitBest = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector orbit = FloatVector.zero(F);
        for (int o = 0; o < cb.orbitValues.length; o++) {
            float[] m = cb.orbitValues[o];
            FloatVector dot = u0.mul(m[0]).add(u1.mul(m[1])).add(u2.mul(m[2])).add(u3.mul(m[3]))
                    .add(u4.mul(m[4])).add(u5.mul(m[5])).add(u6.mul(m[6])).add(u7.mul(m[7]));
            // wrong parity: flip the smallest |w|, which carries ½: minus 2 · ½ · u7
            dot = dot.blend(dot.sub(u7), parity.compare(VectorOperators.NE, (float) cb.orbitParity[o]));
            FloatVector score = dot.sub(0.5f * cb.orbitNorm2[o]).add(offset);
            VectorMask<Float> gt = score.compare(VectorOperators.GT, orbitBest);
            orbitBest = orbitBest.blend(score, gt);
            orbit = orbit.blend((float) o, gt);
        }
        FloatVector best = FloatVector.fromArray(F, st, OV_BEST * LANES);
        VectorMask<Float> better = orbitBest.compare(VectorOperators.GT, best);
        best.blend(orbitBest, better).intoArray(st, OV_BEST * LANES);
        FloatVector.fromArray(F, st, OV_KIND * LANES).blend(orbit, better).intoArray(st, OV_KIND * LANES);
        FloatVector.fromArray(F, st, OV_SHIFT * LANES).blend((float) sb, better).intoArray(st, OV_SHIFT * LANES);
    }

    /** Shift sb: the loose patterns, exact products with |w| and the cheapest flip; each replaces the best if better. */
    private static void ovLoose(Batch b, int sb) {
        E8P16 cb = E8P16.INSTANCE;
        float[] zT = b.zT;
        float[] st = b.state;
        float t = sb == 0 ? 0.25f : -0.25f;
        FloatVector parity = FloatVector.fromArray(F, st, OV_PARITY * LANES);
        FloatVector offset = FloatVector.fromArray(F, st, OV_OFFSET * LANES);
        FloatVector best = FloatVector.fromArray(F, st, OV_BEST * LANES);
        FloatVector kind = FloatVector.fromArray(F, st, OV_KIND * LANES);
        FloatVector shift = FloatVector.fromArray(F, st, OV_SHIFT * LANES);
        FloatVector argMin = FloatVector.fromArray(F, st, OV_ARG * LANES);
        for (int p : cb.loosePatterns) {
            FloatVector dot = FloatVector.zero(F);
            FloatVector min = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            FloatVector arg = FloatVector.zero(F);
            for (int i = 0; i < 8; i++) {
                FloatVector v = FloatVector.fromArray(F, zT, LANES * i).sub(t).abs().mul(cb.abs[p * 8 + i]);
                dot = dot.add(v);
                VectorMask<Float> lt = v.compare(VectorOperators.LT, min);
                min = min.blend(v, lt);
                arg = arg.blend((float) i, lt);
            }
            VectorMask<Float> flip = parity.compare(VectorOperators.NE, (float) cb.parity[p]);
            dot = dot.blend(dot.sub(min.mul(2f)), flip);
            FloatVector score = dot.sub(0.5f * cb.norm2[p]).add(offset);
            VectorMask<Float> gt = score.compare(VectorOperators.GT, best);
            best = best.blend(score, gt);
            kind = kind.blend(1000f + p, gt);
            shift = shift.blend((float) sb, gt);
            argMin = argMin.blend(FloatVector.broadcast(F, -1f).blend(arg, flip), gt);
        }
        best.intoArray(st, OV_BEST * LANES);
        kind.intoArray(st, OV_KIND * LANES);
        shift.intoArray(st, OV_SHIFT * LANES);
        argMin.intoArray(st, OV_ARG * LANES);
    }

    /** The code lane j's search chose, built as E8P16.searchAll builds it. */
    private static int overloadCode(Batch b, int j, E8P16 cb) {
        int sb = b.shift[j];
        int kind = b.kind[j];
        int negMask = b.neg[sb * LANES + j];
        if (kind >= 1000) {
            int p = kind - 1000;
            int arg = b.argMin[j];
            int mask = arg >= 0 ? negMask ^ (1 << arg) : negMask;
            return p | (mask & 0x7f) << 8 | sb << 15;
        }
        int[] k = b.sorted;
        int at = sb * 8 * LANES + j;
        return cb.orbitCode(kind, negMask, Integer.bitCount(negMask) & 1, sb, k[at], k[at + LANES], k[at + 2 * LANES],
                k[at + 3 * LANES], k[at + 4 * LANES], k[at + 5 * LANES], k[at + 6 * LANES], k[at + 7 * LANES]);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // E8Root8: E8Root8.nearest, lane-parallel; E8Root8.choose per lane

    private static final int A1 = 0, A2 = 1, I1 = 2, I2 = 3, SUM_ABS = 4, MIN_ABS = 5, MIN_AT = 6, NEG = 7;

    private static void r8(Batch b, int[] codes, int first, int lanes) {
        float[] zT = b.zT;
        FloatVector a1 = FloatVector.broadcast(F, -1f), a2 = FloatVector.broadcast(F, -1f);
        FloatVector i1 = FloatVector.broadcast(F, -1f), i2 = FloatVector.broadcast(F, -1f);
        FloatVector sumAbs = FloatVector.zero(F), neg = FloatVector.zero(F), minAt = FloatVector.zero(F);
        FloatVector minAbs = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
        for (int i = 0; i < 8; i++) {
            FloatVector v = FloatVector.fromArray(F, zT, LANES * i);
            FloatVector a = v.abs();
            sumAbs = sumAbs.add(a);
            neg = neg.blend(neg.add((float) (1 << i)), v.compare(VectorOperators.LT, 0f));
            VectorMask<Float> lt = a.compare(VectorOperators.LT, minAbs);
            minAbs = minAbs.blend(a, lt);
            minAt = minAt.blend((float) i, lt);
            VectorMask<Float> gt1 = a.compare(VectorOperators.GT, a1);
            VectorMask<Float> gt2 = a.compare(VectorOperators.GT, a2).andNot(gt1);
            a2 = a2.blend(a1, gt1).blend(a, gt2);
            i2 = i2.blend(i1, gt1).blend((float) i, gt2);
            a1 = a1.blend(a, gt1);
            i1 = i1.blend((float) i, gt1);
        }
        float[] s = b.r8;
        a1.intoArray(s, A1 * LANES);
        a2.intoArray(s, A2 * LANES);
        i1.intoArray(s, I1 * LANES);
        i2.intoArray(s, I2 * LANES);
        sumAbs.intoArray(s, SUM_ABS * LANES);
        minAbs.intoArray(s, MIN_ABS * LANES);
        minAt.intoArray(s, MIN_AT * LANES);
        neg.intoArray(s, NEG * LANES);
        E8Root8 cb = E8Root8.INSTANCE;
        float[] pT = b.pT;
        for (int j = 0; j < lanes; j++) {
            int code = cb.choose(s[A1 * LANES + j], s[A2 * LANES + j], (int) s[I1 * LANES + j], (int) s[I2 * LANES + j],
                    s[SUM_ABS * LANES + j], s[MIN_ABS * LANES + j], (int) s[MIN_AT * LANES + j], (int) s[NEG * LANES + j]);
            codes[first + j] = code;
            for (int i = 0; i < 8; i++) pT[LANES * i + j] = cb.points[code * 8 + i];
        }
    }
}
