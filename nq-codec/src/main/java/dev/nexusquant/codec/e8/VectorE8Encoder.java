package dev.nexusquant.codec.e8;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The encoder's inner loop with the Vector API: one lane per group of eight values, as many groups at a time as the
 * machine's widest float vector holds ({@link #LANES}: 16 with AVX-512, 8 with AVX2). The eight coordinates of a
 * batch of groups are eight vectors (a structure of arrays, {@code z[batch][coordinate][lane]}), and each lane carries
 * its own scale, so that a batch may hold groups of several scale groups and several vectors.
 *
 * <p>A stage runs over all the batches of a chunk. The nearest-point searches (Conway-Sloane for E8P16, the three
 * root families for E8Root8) run without a branch per group. The groups whose nearest lattice point lies outside
 * E8P16's ball (a third at 2 bits, a quarter at 3 and 4) go to a queue, and the orbit search for them runs on full
 * batches of such groups only, again without a branch per group: each coordinate's value comes from comparing its rank
 * key with two thresholds taken from the sorted keys.
 *
 * <p>It reproduces {@link ScalarE8Encoder} bit for bit: the same float operations in the same order per lane
 * wherever a result is rounded ({@code rint} as {@code (v + 1.5·2^23) - 1.5·2^23}, exact for |v| &lt; 2^22;
 * {@code floor} from it; distances, scores and residuals), the same first-maximum tie-breaking, and the table lookups
 * per lane. Where every value is a small multiple of 1/2 (the lattice point and its pattern key) the sums are exact,
 * and the vector code takes shorter routes to the same values.
 *
 * <p>Every phase keeps its vectors in local variables of one method, with no call that takes or returns a vector, no
 * mask carried around a loop, and no vector carried around a loop whose trip count C2 does not know, so that C2 keeps
 * them in registers. A phase is a method of its own because C2 stops inlining the Vector API's methods past about
 * 18,000 IR nodes in a method (NodeCountInliningCutoff), and a vector whose methods are not inlined is boxed on the
 * heap. Vectors carried around the orbit loop were boxed in about a third of C2's compilations (the JVM then
 * allocated for its whole life and ran a third slower), so the orbit search stores each orbit's score and picks the
 * best in straight-line code. The work arrays carry values between the phases only.
 */
final class VectorE8Encoder extends E8Encoder {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Groups per batch. */
    static final int LANES = F.length();
    /** Floats of one batch: [8 coordinates][LANES]. */
    private static final int BATCH = 8 * LANES;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final float[] POW3 = {1, 3, 9, 27, 81, 243, 729, 2187};
    /** 0, 1, ..., LANES - 1. */
    private static final int[] IOTA = new int[LANES];
    /** Row length of the overload queue. */
    private static final int QUEUE_ROW = 2 * LANES;
    /** E8P16's pattern index by key, as ints for a gather. */
    private static final int[] INDEX_OF_KEY = new int[E8P16.INSTANCE.indexOfKey.length];

    static {
        for (int j = 0; j < LANES; j++) {
            IOTA[j] = j;
        }
        for (int k = 0; k < INDEX_OF_KEY.length; k++) INDEX_OF_KEY[k] = E8P16.INSTANCE.indexOfKey[k];
        if (I.length() != LANES) throw new AssertionError("float and int species differ in lanes");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The batched encoder: chunks of whole vectors, the candidate scales, the choice per scale group

    /** Groups of eight values that the batched encoder takes at a time (whole vectors, at least one). */
    static final int CHUNK_GROUPS = 256;

    /**
     * Chunks of fewer groups than this (in whole batches) quantize the candidate scales side by side in one pass,
     * so that the groups outside E8P16's ball of all three share the overload queue's batches: one vector of 128 per
     * call codes about 1.4x faster. Larger chunks fill the queue by themselves and run the candidates one after the
     * other, which keeps the work space smaller (side by side was 3-7% slower for them).
     */
    static final int SIDE_BY_SIDE_BELOW = 64;

    /** g rounded up to whole batches. */
    static int padded(int g) {
        return (g + LANES - 1) / LANES * LANES;
    }

    /** Per-thread work arrays of the batched encoder, so that encoding allocates nothing. */
    private static final class Chunk {
        /** [scaleGroup] decoded values at unit scale for the chosen codes. */
        final float[] unit;
        /** The refit's two sums. */
        final double[] sums = new double[2];
        /** Vectors per chunk. */
        final int chunkVectors;
        /** [candidates][stages][chunk groups, whole batches] the codes of each candidate scale. */
        final int[][][] candCodes;
        /** [candidates][chunk groups, whole batches] per group: each candidate's squared error at unit scale. */
        final float[][] candErr;
        /** [chunk groups] 1 / the candidate's scale. */
        final float[] laneInv;
        /**
         * Small chunks (fewer than SIDE_BY_SIDE_BELOW groups, whole batches): the chunk once per candidate, side by
         * side in one work space; [stages][lanes] the codes, [lanes] the errors and 1 / the scales. Null where a
         * vector alone has that many groups.
         */
        final Work side;
        final int[][] sideCodes;
        final float[] sideErr;
        final float[] sideInv;
        /** [candidates] where each candidate's codes, errors and unit-scale points are, for the chunk at hand. */
        final int[][][] codesOf;
        final float[][] errOf;
        final float[][] units;
        final int[] laneBase;
        /** [chunk scale groups] the candidate each scale group keeps. */
        final int[] bestCandidate;
        /** [chunk scale groups] sums of squares, centre scales, the best error and scale. */
        final double[] sumSquares;
        final float[] centre;
        final double[] bestErr;
        final float[] bestScale;
        final Work work;

        Chunk(E8Codec c) {
            unit = new float[c.scaleGroup()];
            chunkVectors = Math.max(1, CHUNK_GROUPS / c.groups);
            int g = chunkVectors * c.groups;
            int q = chunkVectors * c.scaleGroups;
            int padded = padded(g);
            candCodes = new int[CANDIDATES][c.books.length][padded]; // whole batches: every lane is written
            candErr = new float[CANDIDATES][padded];
            laneInv = new float[g];
            if (c.groups < SIDE_BY_SIDE_BELOW) {
                int lanes = CANDIDATES * SIDE_BY_SIDE_BELOW;
                side = new Work(lanes, 1, c.books.length);
                sideCodes = new int[c.books.length][lanes];
                sideErr = new float[lanes];
                sideInv = new float[lanes];
            } else {
                side = null;
                sideCodes = null;
                sideErr = sideInv = null;
            }
            codesOf = new int[CANDIDATES][][];
            errOf = new float[CANDIDATES][];
            units = new float[CANDIDATES][];
            laneBase = new int[CANDIDATES];
            bestCandidate = new int[q];
            sumSquares = new double[q];
            centre = new float[q];
            bestErr = new double[q];
            bestScale = new float[q];
            work = new Work(g, CANDIDATES, c.books.length);
        }
    }

    private final ThreadLocal<Chunk> scratch;

    VectorE8Encoder(E8Codec c) {
        super(c);
        this.scratch = ThreadLocal.withInitial(() -> new Chunk(c));
    }

    @Override
    void encode(float[] x, int xOff, int count, byte[] dst, int dstOff) {
        Chunk s = scratch.get();
        int dim = c.dimension(), bytes = c.bytesPerVector();
        for (int v0 = 0; v0 < count; v0 += s.chunkVectors) {
            int n = Math.min(s.chunkVectors, count - v0);
            encodeChunk(x, xOff + v0 * dim, n, dst, dstOff + v0 * bytes, s);
        }
    }

    /**
     * {@code n} whole vectors at once. For each candidate multiplier, every group of the chunk is quantized at its
     * scale group's candidate scale (a lane per group): a small chunk with the three candidates side by side in one
     * pass (see {@link #SIDE_BY_SIDE_BELOW}), a larger one candidate after candidate. Then each scale group keeps its
     * best candidate as the scalar encoder would (the first strictly smaller error, the error summed in double over its
     * groups in order), and the same refit and layout follow.
     */
    private void encodeChunk(float[] x, int xOff, int n, byte[] dst, int dstOff, Chunk s) {
        int scaleGroups = c.scaleGroups, groupsPerScale = c.groupsPerScale;
        int q = n * scaleGroups;
        int g = n * c.groups;
        for (int k = 0; k < q; k++) {
            double ss = checkedSumOfSquares(x, xOff + k * scaleGroup, k % scaleGroups);
            s.sumSquares[k] = ss;
            s.centre[k] = ss > 0 ? centreScale(ss) : 0f;
            s.bestErr[k] = Double.POSITIVE_INFINITY;
            s.bestScale[k] = 0f;
        }
        int stride = padded(g);
        if (s.side != null && stride < SIDE_BY_SIDE_BELOW) {
            // the candidates side by side: lanes [ci * stride, (ci + 1) * stride), padding lanes at scale 0
            transpose(x, xOff, g, s.side);
            replicate(s.side, stride, CANDIDATES);
            for (int ci = 0; ci < CANDIDATES; ci++) {
                fillInverseScales(s, q, ci, s.sideInv, ci * stride);
                java.util.Arrays.fill(s.sideInv, ci * stride + g, (ci + 1) * stride, 0f);
            }
            float[] u = quantize(c, CANDIDATES * stride, s.sideInv, s.side, s.sideCodes, s.sideErr, 0);
            for (int ci = 0; ci < CANDIDATES; ci++) {
                s.codesOf[ci] = s.sideCodes;
                s.errOf[ci] = s.sideErr;
                s.units[ci] = u;
                s.laneBase[ci] = ci * stride;
            }
        } else {
            // one candidate after the other, each in its own arrays
            transpose(x, xOff, g, s.work);
            for (int ci = 0; ci < CANDIDATES; ci++) {
                boolean any = fillInverseScales(s, q, ci, s.laneInv, 0);
                s.codesOf[ci] = s.candCodes[ci];
                s.errOf[ci] = s.candErr[ci];
                s.laneBase[ci] = 0;
                if (any) {
                    s.units[ci] = quantize(c, g, s.laneInv, s.work, s.candCodes[ci], s.candErr[ci], ci);
                }
            }
        }
        // each scale group keeps the first candidate with a strictly smaller error, summed in double in group order
        for (int ci = 0; ci < CANDIDATES; ci++) {
            float[] err = s.errOf[ci];
            for (int k = 0; k < q; k++) {
                float sc = candidateScale(s, k, ci);
                if (sc == 0f) continue;
                int first = s.laneBase[ci] + k * groupsPerScale;
                double e = 0;
                for (int j = first; j < first + groupsPerScale; j++) e += (double) err[j] * sc * sc;
                if (e < s.bestErr[k]) {
                    s.bestErr[k] = e;
                    s.bestScale[k] = sc;
                    s.bestCandidate[k] = ci;
                }
            }
        }
        int bytes = c.bytesPerVector();
        for (int k = 0; k < q; k++) {
            int v = k / scaleGroups;
            int ci = s.bestCandidate[k];
            int first = s.laneBase[ci] + k * groupsPerScale;
            if (s.bestScale[k] != 0f) untranspose(s.units[ci], first, groupsPerScale, s.unit);
            finishScaleGroup(x, xOff + k * scaleGroup, k % scaleGroups, s.bestScale[k], s.codesOf[ci], first,
                    s.unit, dst, dstOff + v * bytes, s.sums);
        }
    }

    /**
     * 1 / candidate ci's scale (0 where the scale is 0) for every group of the chunk's q scale groups, into
     * {@code inv[base ..]}; whether any scale group has a nonzero scale.
     */
    private boolean fillInverseScales(Chunk s, int q, int ci, float[] inv, int base) {
        int groupsPerScale = c.groupsPerScale;
        boolean any = false;
        for (int k = 0; k < q; k++) {
            float sc = candidateScale(s, k, ci);
            any |= sc != 0f;
            float v = sc != 0f ? 1f / sc : 0f;
            java.util.Arrays.fill(inv, base + k * groupsPerScale, base + (k + 1) * groupsPerScale, v);
        }
        return any;
    }

    /** Candidate ci's scale for scale group k of the chunk: the centre times the multiplier, in fp16; 0 for zeros. */
    private static float candidateScale(Chunk s, int k, int ci) {
        return s.sumSquares[k] > 0 ? toHalfScale(s.centre[k] * search(ci)) : 0f;
    }

    /**
     * Slots of Work.near ([batch][NEAR / LANES][LANES]): what p16Nearest hands p16Point. Each phase loops over the
     * chunk's batches itself: one call per stage, and the work of neighbouring batches overlaps in the CPU.
     */
    private static final int USE_INT = 0, FIX_AT = 1, MIDDLE = 2, NEAR = 3 * LANES;
    // Slots of Work.state ([slot][LANES]) that carry per-lane values between the phases of the orbit search.
    private static final int OV_BEST = 0, OV_KIND = 1, OV_SHIFT = 2, OV_ARG = 3, OV_PARITY = 4, OV_OFFSET = 5,
            OV_PARITY1 = 6;
    private static final int STATE_SLOTS = 7;
    /** Per orbit of E8P16: how many of its values are 5/2, and how many 5/2 or 3/2. */
    private static final int[] ORBIT_N5, ORBIT_N53;
    /** E8P16's orbits (ovOrbits is written for eight), and [orbit][rank] their values, decreasing. */
    private static final int ORBITS = 8;
    private static final float[] ORBIT_VALUES;

    static {
        float[][] orbits = E8P16.INSTANCE.orbitValues;
        ORBIT_N5 = new int[orbits.length];
        ORBIT_N53 = new int[orbits.length];
        if (orbits.length != ORBITS) throw new AssertionError(orbits.length + " orbits");
        ORBIT_VALUES = new float[ORBITS * 8];
        for (int o = 0; o < orbits.length; o++) {
            for (int r = 0; r < 8; r++) {
                float v = orbits[o][r];
                if (v == 2.5f) ORBIT_N5[o]++;
                if (v >= 1.5f) ORBIT_N53[o]++;
                if (v != 0.5f && v != 1.5f && v != 2.5f) throw new AssertionError("orbit value " + v);
                if (r > 0 && v > orbits[o][r - 1]) throw new AssertionError("orbit values not decreasing");
                ORBIT_VALUES[8 * o + r] = v;
            }
        }
    }

    /** Per-thread work space for chunks of up to {@code groups} groups. */
    static final class Work {
        final int batches;
        /** [batches][8][LANES] the chunk's values, transposed once ({@link #transpose}). */
        final float[] xT;
        /** [batches][8][LANES] the values a stage codes, and the next stage's (the two swap after each stage). */
        float[] z;
        float[] zr;
        /** [batches][8][LANES] the points the stage chose, and the first stage's (the current candidate's arrays). */
        float[] p;
        float[] p0;
        /** [candidates][batches][8][LANES] the points of each candidate scale, kept until the chunk is written. */
        final float[][] pc;
        final float[][] p0c;
        /** [LANES] 1 / scale of the lanes of one batch. */
        final float[] inv = new float[LANES];
        /** [batches][3][LANES] the coset choices of p16Nearest, and [batches] p16Point's miss bits. */
        final float[] near;
        final long[] miss;
        /** [LANES] a batch's pattern keys. */
        final int[] key = new int[LANES];
        /** [STATE_SLOTS][LANES] per-lane values handed between the phases of a stage. */
        final float[] state = new float[STATE_SLOTS * LANES];
        /** [batches][4][LANES] the E8Root8 statistics: a1, a2, sum |z|, min |z|; [batches][5][LANES] i1, i2, where
         * min |z| is, the sign bits and their count. */
        final float[] r8;
        final int[] r8i;
        /** The overload queue: [8][QUEUE_ROW] values (a batch may add up to LANES to fewer than LANES queued),
         * [8][LANES] the points found, and [QUEUE_ROW] the group each slot came from. */
        final float[] qz = new float[8 * QUEUE_ROW];
        final float[] qp = new float[BATCH];
        final int[] qGroup = new int[QUEUE_ROW];
        /** [LANES] the queue's pattern keys (integers in float) and the rest of its codes. */
        final float[] qKey = new float[LANES];
        final int[] qRest = new int[LANES];
        int queued;
        /** The orbit search: [2 shifts][8 coordinates][LANES] rank keys, the same sorted ([2][8 ranks][LANES]), and
         * [2][LANES] the sign masks of w = z - shift. */
        final int[] keys = new int[2 * BATCH];
        final int[] sorted = new int[2 * BATCH];
        final int[] neg = new int[2 * LANES];
        /** [ORBITS][LANES] the orbits' scores. */
        final float[] scores = new float[ORBITS * LANES];

        Work(int groups, int candidates, int stages) {
            batches = (groups + LANES - 1) / LANES;
            xT = new float[batches * BATCH];
            near = new float[batches * NEAR];
            miss = new long[batches];
            r8 = new float[batches * 4 * LANES];
            r8i = new int[batches * 5 * LANES];
            z = new float[batches * BATCH];
            zr = new float[batches * BATCH];
            pc = new float[candidates][batches * BATCH];
            p0c = new float[candidates][stages > 1 ? batches * BATCH : 0];
        }
    }

    /**
     * Takes {@code count} groups whose values lie back to back at {@code x[at ..]} into the work space's batches
     * ({@code xT[batch][i][lane]}, zero past the last group), for the calls of {@link #quantize} that follow.
     */
    static void transpose(float[] x, int at, int count, Work w) {
        float[] xT = w.xT;
        int batches = (count + LANES - 1) / LANES;
        if (count % LANES != 0) java.util.Arrays.fill(xT, (batches - 1) * BATCH, batches * BATCH, 0f);
        for (int g = 0; g < count; g++) { // a plain transpose: a gather is slower here
            int to = g / LANES * BATCH + g % LANES;
            for (int i = 0; i < 8; i++) xT[to + LANES * i] = x[at + 8 * g + i];
        }
    }

    /**
     * Copies the first {@code groups} groups of the work space's batches ({@code groups} a multiple of LANES) to the
     * {@code copies - 1} places after them: the chunk once per candidate scale, side by side.
     */
    static void replicate(Work w, int groups, int copies) {
        for (int c = 1; c < copies; c++) System.arraycopy(w.xT, 0, w.xT, c * groups * 8, groups * 8);
    }

    /**
     * Quantizes the {@code count} groups that {@link #transpose} took, group g at scale
     * {@code 1 / inv[g]}: {@code codes[stage][g]}; the squared error at unit scale (the residual's sum of squares)
     * into {@code err[g]} (both arrays of whole batches). Returns the decoded values at unit scale
     * ({@code c_0 + w_1 c_1}, as {@code ScalarE8Encoder.unitDecode} computes them), value i of group g at
     * {@code [g / LANES][i][g % LANES]}: a work array of this candidate that the next call for it overwrites.
     */
    static float[] quantize(E8Codec c, int count, float[] inv, Work w, int[][] codes, float[] err, int candidate) {
        int batches = (count + LANES - 1) / LANES;
        w.p = w.pc[candidate];
        w.p0 = w.p0c[candidate];
        for (int bi = 0; bi < batches; bi++) {
            int lanes = Math.min(LANES, count - bi * LANES);
            System.arraycopy(inv, bi * LANES, w.inv, 0, lanes);
            if (lanes < LANES) java.util.Arrays.fill(w.inv, lanes, LANES, 0f);
            load(w.xT, w.inv, w.z, bi * BATCH);
        }
        int stages = c.books.length;
        for (int st = 0; st < stages; st++) {
            if (c.books[st] == E8Codec.BOOK_P16) {
                w.queued = 0;
                p16Nearest(w.z, batches, w.near);
                p16Point(w.z, w.p, batches, w.near, w.key, codes[st], w.miss);
                for (int bi = 0; bi < batches; bi++) p16Queue(w, bi, Math.min(LANES, count - bi * LANES), codes[st]);
                if (w.queued > 0) resolveQueue(w, codes[st]);
            } else {
                r8Statistics(w.z, batches, w.r8, w.r8i);
                r8Choose(w.r8, w.r8i, w.p, batches, codes[st]);
            }
            // the residual (z - p) times the stage's weight (1 for the first), its squares summed on the last stage,
            // and divided by the next stage's weight as that stage's input: ScalarE8Encoder.quantize's operations
            float weight = st > 0 ? c.weights[st] : 1f;
            boolean last = st == stages - 1;
            float nextInv = last ? 0f : 1f / c.weights[st + 1];
            for (int bi = 0; bi < batches; bi++) {
                residual(w.z, w.zr, w.p, bi * BATCH, weight, nextInv, !last, err, bi * LANES, last);
            }
            float[] t = w.z;
            w.z = w.zr;
            w.zr = t;
            if (st == 0 && stages > 1) System.arraycopy(w.p, 0, w.p0, 0, batches * BATCH);
        }
        float[] u = w.p;
        if (stages > 1) {
            for (int bi = 0; bi < batches; bi++) combine(w.p0, w.p, bi * BATCH, c.weights[1]);
            u = w.p0;
        }
        return u;
    }

    /** z = clamp(xT · inv), lane by lane, for the batch at {@code off}. */
    private static void load(float[] xT, float[] inv, float[] z, int off) {
        FloatVector lo = FloatVector.broadcast(F, -CLAMP);
        FloatVector hi = FloatVector.broadcast(F, CLAMP);
        FloatVector s = FloatVector.fromArray(F, inv, 0);
        for (int i = 0; i < 8; i++) {
            // a compare and a blend each side: max and min would carry Math.max's NaN and -0 rules, six instructions
            // each, for values that are never NaN; the results are the same (-0 stays -0, infinities clamp)
            FloatVector v = FloatVector.fromArray(F, xT, off + LANES * i).mul(s);
            v = v.blend(lo, v.compare(VectorOperators.LT, lo));
            v.blend(hi, v.compare(VectorOperators.GT, hi)).intoArray(z, off + LANES * i);
        }
    }

    /**
     * d = (z - p) · w for the batch at {@code off}; the next stage's input {@code zr = d · nextInv} when {@code keep},
     * and on the last stage the per-lane sum of squares of d into {@code err[errOff ..]}.
     */
    private static void residual(float[] z, float[] zr, float[] p, int off, float w, float nextInv, boolean keep,
                                 float[] err, int errOff, boolean last) {
        FloatVector e = FloatVector.zero(F);
        for (int i = 0; i < 8; i++) {
            FloatVector d = FloatVector.fromArray(F, z, off + LANES * i).sub(FloatVector.fromArray(F, p, off + LANES * i)).mul(w);
            if (keep) d.mul(nextInv).intoArray(zr, off + LANES * i);
            e = e.add(d.mul(d)); // 0 + d0² is d0²: the scalar sum's order
        }
        if (last) e.intoArray(err, errOff);
    }

    /** p0 += w · p1: the unit-scale value of two stages. */
    private static void combine(float[] p0, float[] p1, int off, float w) {
        for (int i = 0; i < 8; i++) {
            FloatVector.fromArray(F, p0, off + LANES * i).add(FloatVector.fromArray(F, p1, off + LANES * i).mul(w))
                    .intoArray(p0, off + LANES * i);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // E8P16: E8P16.encode and E8Lattice.nearest, lane-parallel

    /** Batch bi: the groups whose pattern is not in the table (p16Point's miss bits) go to the overload queue. */
    private static void p16Queue(Work w, int bi, int lanes, int[] codes) {
        long miss = w.miss[bi];
        if (lanes < 64) miss &= (1L << lanes) - 1;
        if (miss == 0) return;
        enqueue(w.z, bi * BATCH, bi * LANES, miss, w.qz, w.qGroup, w.queued);
        w.queued += Long.bitCount(miss);
        if (w.queued >= LANES) resolveQueue(w, codes);
    }

    /** Appends the lanes in {@code miss} (values and group numbers) to the queue at slot {@code at}: a compress. */
    private static void enqueue(float[] z, int off, int group0, long miss, float[] qz, int[] qGroup, int at) {
        VectorMask<Float> m = VectorMask.fromLong(F, miss);
        for (int i = 0; i < 8; i++) {
            FloatVector.fromArray(F, z, off + LANES * i).compress(m).intoArray(qz, QUEUE_ROW * i + at);
        }
        IntVector.fromArray(I, IOTA, 0).add(group0).compress(m.cast(I)).intoArray(qGroup, at);
    }

    /**
     * E8Lattice.nearest's first part on v = z - 1/4, for every batch of the chunk: the two coset roundings, their
     * parity fixes, the coset, into {@code near[batch]}.
     */
    private static void p16Nearest(float[] z, int batches, float[] near) {
        for (int bi = 0; bi < batches; bi++) { // nothing is carried from one batch to the next
            int off = bi * BATCH;
            int st = bi * NEAR;
            // the two coset roundings of v = z - 1/4: squared distances, coordinate sums, worst coordinates
            FloatVector dInt = FloatVector.zero(F), dHalf = FloatVector.zero(F);
            FloatVector sumInt = FloatVector.zero(F), sumHalf = FloatVector.zero(F);
            FloatVector wErrInt = FloatVector.broadcast(F, -1f), wErrHalf = FloatVector.broadcast(F, -1f);
            FloatVector wIdxInt = FloatVector.zero(F), wIdxHalf = FloatVector.zero(F);
            for (int i = 0; i < 8; i++) {
                FloatVector v = FloatVector.fromArray(F, z, off + LANES * i).sub(0.25f);
                FloatVector r = v.add(MAGIC).sub(MAGIC);
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
            FloatVector rInt = hInt.add(MAGIC).sub(MAGIC), rHalf = hHalf.add(MAGIC).sub(MAGIC);
            VectorMask<Float> oddInt = hInt.compare(VectorOperators.NE,
                    rInt.blend(rInt.sub(1f), rInt.compare(VectorOperators.GT, hInt)));
            VectorMask<Float> oddHalf = hHalf.compare(VectorOperators.NE,
                    rHalf.blend(rHalf.sub(1f), rHalf.compare(VectorOperators.GT, hHalf)));
            dInt = dInt.blend(dInt.add(FloatVector.broadcast(F, 1f).sub(wErrInt.mul(2f))), oddInt);
            dHalf = dHalf.blend(dHalf.add(FloatVector.broadcast(F, 1f).sub(wErrHalf.mul(2f))), oddHalf);
            VectorMask<Float> useInt = dInt.compare(VectorOperators.LE, dHalf);
            // for the point pass: the chosen coset, the coordinate its parity fix moves (-1: none), and where that
            // coordinate's two neighbours meet less its rounding (0 for D8, whose base is rint(v); 1/2 for D8 + 1/2,
            // whose base is floor(v))
            FloatVector none = FloatVector.broadcast(F, -1f);
            FloatVector fixInt = none.blend(wIdxInt, oddInt), fixHalf = none.blend(wIdxHalf, oddHalf);
            FloatVector.zero(F).blend(1f, useInt).intoArray(near, st + USE_INT * LANES);
            fixHalf.blend(fixInt, useInt).intoArray(near, st + FIX_AT * LANES);
            FloatVector.broadcast(F, 0.5f).blend(0f, useInt).intoArray(near, st + MIDDLE * LANES);
        }
    }

    /**
     * For every batch: the chosen point y + 1/4 into p; from h = y (+ 1/2 in coset D8) the pattern key, its index in
     * the table (gathered) and the code: into {@code codes[batch * LANES + j]} for every lane (-1 where the pattern is
     * not in the table), and those lanes as bits into {@code misses[batch]}.
     *
     * <p>Per coordinate, with v = z - 1/4: the base is rint(v) in coset D8 and floor(v) in D8 + 1/2, h = base + 1/2,
     * and at the coordinate of the parity fix h moves one step towards v (up when v lies above base + MIDDLE). All
     * values are small multiples of 1/2, so every sum is exact and h equals E8Lattice.nearest's to the bit.
     */
    private static void p16Point(float[] z, float[] p, int batches, float[] near, int[] keys, int[] codes,
                                 long[] misses) {
        for (int bi = 0; bi < batches; bi++) { // nothing is carried from one batch to the next
            int off = bi * BATCH;
            int st = bi * NEAR;
            int codeOff = bi * LANES;
            VectorMask<Float> useInt = FloatVector.fromArray(F, near, st + USE_INT * LANES)
                    .compare(VectorOperators.NE, 0f);
            FloatVector fixAt = FloatVector.fromArray(F, near, st + FIX_AT * LANES);
            FloatVector middle = FloatVector.fromArray(F, near, st + MIDDLE * LANES);
            // the point is y + 1/4 = h + t
            FloatVector t = FloatVector.broadcast(F, 0.25f).blend(-0.25f, useInt);
            FloatVector key = FloatVector.zero(F);
            IntVector maxAbs = IntVector.zero(I); // the largest |h| as float bits, which order non-negative floats
            IntVector rest = IntVector.zero(I).blend(1 << 15, useInt.cast(I));
            FloatVector one = FloatVector.broadcast(F, 1f), minusOne = FloatVector.broadcast(F, -1f);
            for (int i = 0; i < 8; i++) {
                FloatVector v = FloatVector.fromArray(F, z, off + LANES * i).sub(0.25f);
                FloatVector r = v.add(MAGIC).sub(MAGIC);
                FloatVector base = r.blend(r.sub(1f), r.compare(VectorOperators.GT, v)).blend(r, useInt);
                FloatVector step = minusOne.blend(one, v.compare(VectorOperators.GT, base.add(middle)));
                FloatVector h = base.add(0.5f);
                h = h.blend(h.add(step), fixAt.compare(VectorOperators.EQ, (float) i));
                h.add(t).intoArray(p, off + LANES * i);
                // the pattern key Σ (|h_i| - 1/2) 3^i, less Σ 3^i / 2 after the loop; exact in float
                FloatVector a = h.abs();
                IntVector bits = h.reinterpretAsInts();
                maxAbs = maxAbs.max(bits.and(0x7fffffff));
                key = key.add(a.mul(POW3[i]));
                if (i < 7) {
                    rest = rest.or(bits.lanewise(VectorOperators.LSHR, 31).lanewise(VectorOperators.LSHL, 8 + i));
                }
            }
            key = key.sub(1640f);
            // a coordinate beyond 5/2: no pattern (its key, maybe out of the table's range, is replaced by 0)
            VectorMask<Integer> beyond = maxAbs.compare(VectorOperators.GT, Float.floatToRawIntBits(2.5f));
            ((IntVector) key.convert(VectorOperators.F2I, 0)).blend(0, beyond).intoArray(keys, 0);
            IntVector index = IntVector.fromArray(I, INDEX_OF_KEY, 0, keys, 0).blend(-1, beyond);
            VectorMask<Integer> miss = index.compare(VectorOperators.LT, 0);
            index.or(rest).blend(-1, miss).intoArray(codes, codeOff);
            misses[bi] = miss.toLong();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The overload queue: E8P16.searchAll, lane-parallel, on groups outside the codebook's ball only

    /** Codes and points for the queued groups (E8P16.searchAll), written back to their groups; empties the queue. */
    private static void resolveQueue(Work w, int[] codes) {
        int n = Math.min(w.queued, LANES);
        for (int j = n; j < LANES; j++) { // unused slots: a harmless input
            for (int i = 0; i < 8; i++) w.qz[QUEUE_ROW * i + j] = 0f;
        }
        float[] st = w.state;
        java.util.Arrays.fill(st, OV_BEST * LANES, (OV_BEST + 1) * LANES, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(st, OV_KIND * LANES, (OV_ARG + 1) * LANES, 0f);
        for (int sb = 0; sb < 2; sb++) {
            ovOrbits(w, sb);
            ovLoose(w, sb);
        }
        ovCode(w);
        for (int j = 0; j < n; j++) {
            int g = w.qGroup[j];
            codes[g] = INDEX_OF_KEY[(int) w.qKey[j]] | w.qRest[j];
            int to = (g / LANES) * BATCH + g % LANES;
            for (int i = 0; i < 8; i++) w.p[to + LANES * i] = w.qp[LANES * i + j];
        }
        int left = w.queued - n; // what the last batch added beyond a full queue moves to the front
        for (int i = 0; i < 8; i++) System.arraycopy(w.qz, QUEUE_ROW * i + n, w.qz, QUEUE_ROW * i, left);
        System.arraycopy(w.qGroup, n, w.qGroup, 0, left);
        w.queued = left;
    }

    /**
     * Shift sb: the rank keys of w = z - t, then each complete orbit's score, its values matched in decreasing order
     * to the coordinates in decreasing order of |w| (a sorting network on the rank keys); the first best replaces the
     * overall best if better.
     */
    private static void ovOrbits(Work wk, int sb) {
        E8P16 cb = E8P16.INSTANCE;
        float[] st = wk.state;
        // shift sb: |w|², the sign bits and their parity, the rank keys in coordinate order (a method of its own
        // this small would be inlined into its caller, and the caller would run out of C2's inlining budget)
        float[] z = wk.qz;
        int[] keys = wk.keys;
        float t = sb == 0 ? 0.25f : -0.25f;
        FloatVector ww = FloatVector.zero(F);
        IntVector neg = IntVector.zero(I);
        FloatVector count = FloatVector.zero(F);
        int at = sb * BATCH;
        for (int i = 0; i < 8; i++) {
            FloatVector w = FloatVector.fromArray(F, z, QUEUE_ROW * i).sub(t);
            ww = ww.add(w.mul(w)); // 0 + w0² is w0²: the scalar sum's order
            VectorMask<Float> negative = w.compare(VectorOperators.LT, 0f);
            neg = neg.blend(neg.or(1 << i), negative.cast(I));
            count = count.blend(count.add(1f), negative);
            // the rank key: |w|'s bits with the coordinate in the three lowest (E8P16.sortKey); distinct per lane
            w.reinterpretAsInts().and(0x7ffffff8).or(i).intoArray(keys, at + LANES * i);
        }
        neg.intoArray(wk.neg, sb * LANES);
        FloatVector half = count.mul(0.5f);
        FloatVector rounded = half.add(MAGIC).sub(MAGIC);
        VectorMask<Float> odd = half.compare(VectorOperators.NE,
                rounded.blend(rounded.sub(1f), rounded.compare(VectorOperators.GT, half)));
        FloatVector.zero(F).blend(1f, odd).intoArray(wk.state, (sb == 0 ? OV_PARITY : OV_PARITY1) * LANES);
        ww.mul(-0.5f).intoArray(wk.state, OV_OFFSET * LANES);
        IntVector k0 = IntVector.fromArray(I, keys, at), k1 = IntVector.fromArray(I, keys, at + LANES);
        IntVector k2 = IntVector.fromArray(I, keys, at + 2 * LANES), k3 = IntVector.fromArray(I, keys, at + 3 * LANES);
        IntVector k4 = IntVector.fromArray(I, keys, at + 4 * LANES), k5 = IntVector.fromArray(I, keys, at + 5 * LANES);
        IntVector k6 = IntVector.fromArray(I, keys, at + 6 * LANES), k7 = IntVector.fromArray(I, keys, at + 7 * LANES);
        // sort decreasing: the 19-comparator network of E8P16.searchAll
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
        int[] sorted = wk.sorted;
        k0.intoArray(sorted, at);
        k1.intoArray(sorted, at + LANES);
        k2.intoArray(sorted, at + 2 * LANES);
        k3.intoArray(sorted, at + 3 * LANES);
        k4.intoArray(sorted, at + 4 * LANES);
        k5.intoArray(sorted, at + 5 * LANES);
        k6.intoArray(sorted, at + 6 * LANES);
        k7.intoArray(sorted, at + 7 * LANES);
        // the rounded |w| of each rank (E8P16.rankValue)
        FloatVector u0 = k0.and(~7).reinterpretAsFloats(), u1 = k1.and(~7).reinterpretAsFloats();
        FloatVector u2 = k2.and(~7).reinterpretAsFloats(), u3 = k3.and(~7).reinterpretAsFloats();
        FloatVector u4 = k4.and(~7).reinterpretAsFloats(), u5 = k5.and(~7).reinterpretAsFloats();
        FloatVector u6 = k6.and(~7).reinterpretAsFloats(), u7 = k7.and(~7).reinterpretAsFloats();
        FloatVector parity = FloatVector.fromArray(F, st, (sb == 0 ? OV_PARITY : OV_PARITY1) * LANES);
        FloatVector offset = FloatVector.fromArray(F, st, OV_OFFSET * LANES);
        // each orbit's score, its values matched to the ranks in decreasing order: no vector is carried from one
        // orbit to the next (C2 boxes vectors carried around a loop in some of its compilations)
        float[] values = ORBIT_VALUES;
        float[] scores = wk.scores;
        for (int o = 0; o < ORBITS; o++) {
            int at8 = 8 * o;
            // Σ m_r u_r in rank order, as E8P16.searchAll adds it
            FloatVector dot = u0.mul(values[at8]).add(u1.mul(values[at8 + 1])).add(u2.mul(values[at8 + 2]))
                    .add(u3.mul(values[at8 + 3])).add(u4.mul(values[at8 + 4])).add(u5.mul(values[at8 + 5]))
                    .add(u6.mul(values[at8 + 6])).add(u7.mul(values[at8 + 7]));
            // wrong parity: flip the smallest |w|, which carries ½: minus 2 · ½ · u7
            dot = dot.blend(dot.sub(u7), parity.compare(VectorOperators.NE, (float) cb.orbitParity[o]));
            dot.sub(0.5f * cb.orbitNorm2[o]).add(offset).intoArray(scores, LANES * o);
        }
        ovBestOrbit(wk, sb);
    }

    /**
     * Shift sb, after {@link #ovOrbits} left the eight orbits' scores in {@code wk.scores} and the sorted rank keys in
     * {@code wk.sorted}: the first best orbit, its number and its parity; it replaces the overall best if better. A
     * method of its own, reading what it needs from memory: as part of {@code ovOrbits} (2,089 bytes of bytecode) C2
     * ran out of its budget and left this part's blends to the Vector API's Java fallback (an array and an object per
     * operation: ~0.4 GB/s of garbage in a warm compressed prefill).
     */
    private static void ovBestOrbit(Work wk, int sb) {
        E8P16 cb = E8P16.INSTANCE;
        float[] st = wk.state;
        float[] scores = wk.scores;
        FloatVector parity = FloatVector.fromArray(F, st, (sb == 0 ? OV_PARITY : OV_PARITY1) * LANES);
        // the smallest |w|'s coordinate, where a parity flip goes
        FloatVector last = (FloatVector) IntVector.fromArray(I, wk.sorted, sb * BATCH + 7 * LANES).and(7)
                .convert(VectorOperators.I2F, 0);
        // the first best orbit, its number and its parity: straight-line code over the eight scores
        FloatVector orbitBest = FloatVector.fromArray(F, scores, 0);
        FloatVector orbit = FloatVector.zero(F);
        FloatVector orbitParity = FloatVector.broadcast(F, (float) cb.orbitParity[0]);
        FloatVector sc;
        VectorMask<Float> gt;
        sc = FloatVector.fromArray(F, scores, LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(1f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[1], gt);
        sc = FloatVector.fromArray(F, scores, 2 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(2f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[2], gt);
        sc = FloatVector.fromArray(F, scores, 3 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(3f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[3], gt);
        sc = FloatVector.fromArray(F, scores, 4 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(4f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[4], gt);
        sc = FloatVector.fromArray(F, scores, 5 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(5f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[5], gt);
        sc = FloatVector.fromArray(F, scores, 6 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(6f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[6], gt);
        sc = FloatVector.fromArray(F, scores, 7 * LANES);
        gt = sc.compare(VectorOperators.GT, orbitBest);
        orbitBest = orbitBest.blend(sc, gt);
        orbit = orbit.blend(7f, gt);
        orbitParity = orbitParity.blend((float) cb.orbitParity[7], gt);
        // an orbit's flip goes to the last-ranked coordinate (or nowhere), as OV_ARG holds it for loose patterns
        FloatVector flipAt = FloatVector.broadcast(F, -1f).blend(last, parity.compare(VectorOperators.NE, orbitParity));
        FloatVector best = FloatVector.fromArray(F, st, OV_BEST * LANES);
        VectorMask<Float> better = orbitBest.compare(VectorOperators.GT, best);
        best.blend(orbitBest, better).intoArray(st, OV_BEST * LANES);
        FloatVector.fromArray(F, st, OV_KIND * LANES).blend(orbit, better).intoArray(st, OV_KIND * LANES);
        FloatVector.fromArray(F, st, OV_SHIFT * LANES).blend((float) sb, better).intoArray(st, OV_SHIFT * LANES);
        FloatVector.fromArray(F, st, OV_ARG * LANES).blend(flipAt, better).intoArray(st, OV_ARG * LANES);
    }

    /** Shift sb: the loose patterns, exact products with |w| and the cheapest flip; each replaces the best if better. */
    private static void ovLoose(Work wk, int sb) {
        E8P16 cb = E8P16.INSTANCE;
        float[] z = wk.qz;
        float[] st = wk.state;
        float t = sb == 0 ? 0.25f : -0.25f;
        FloatVector parity = FloatVector.fromArray(F, st, (sb == 0 ? OV_PARITY : OV_PARITY1) * LANES);
        FloatVector offset = FloatVector.fromArray(F, st, OV_OFFSET * LANES);
        for (int p : cb.loosePatterns) { // the best so far goes through memory: no vector carried around the loop
            FloatVector dot = FloatVector.zero(F);
            FloatVector min = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            FloatVector arg = FloatVector.zero(F);
            for (int i = 0; i < 8; i++) {
                FloatVector v = FloatVector.fromArray(F, z, QUEUE_ROW * i).sub(t).abs().mul(cb.abs[p * 8 + i]);
                dot = dot.add(v);
                VectorMask<Float> lt = v.compare(VectorOperators.LT, min);
                min = min.blend(v, lt);
                arg = arg.blend((float) i, lt);
            }
            VectorMask<Float> flip = parity.compare(VectorOperators.NE, (float) cb.parity[p]);
            dot = dot.blend(dot.sub(min.mul(2f)), flip);
            FloatVector score = dot.sub(0.5f * cb.norm2[p]).add(offset);
            FloatVector best = FloatVector.fromArray(F, st, OV_BEST * LANES);
            VectorMask<Float> gt = score.compare(VectorOperators.GT, best);
            best.blend(score, gt).intoArray(st, OV_BEST * LANES);
            FloatVector.fromArray(F, st, OV_KIND * LANES).blend(1000f + p, gt).intoArray(st, OV_KIND * LANES);
            FloatVector.fromArray(F, st, OV_SHIFT * LANES).blend((float) sb, gt).intoArray(st, OV_SHIFT * LANES);
            FloatVector.fromArray(F, st, OV_ARG * LANES).blend(FloatVector.broadcast(F, -1f).blend(arg, flip), gt)
                    .intoArray(st, OV_ARG * LANES);
        }
    }

    /**
     * The chosen pattern's value at each coordinate, the signs after the parity flip, the point {@code σ∘a + shift}
     * into {@code qp}, and the pattern key and the rest of the code into {@code qKey} and {@code qRest}: what
     * E8P16.searchAll and E8P16.decode give. An orbit's values in decreasing order are n5 times 5/2, then 3/2 up to
     * rank n53, then 1/2, matched to the coordinates in decreasing order of their rank keys (which are distinct in a
     * lane): a coordinate carries 5/2 when its key is at least the n5-th largest key, 3/2 when it is at least the
     * n53-th largest. A loose pattern's values stand as they are.
     */
    private static void ovCode(Work wk) {
        E8P16 cb = E8P16.INSTANCE;
        float[] st = wk.state;
        int[] keys = wk.keys;
        int[] sorted = wk.sorted;
        FloatVector kind = FloatVector.fromArray(F, st, OV_KIND * LANES);
        FloatVector shift = FloatVector.fromArray(F, st, OV_SHIFT * LANES);
        VectorMask<Integer> second = shift.compare(VectorOperators.NE, 0f).cast(I);
        IntVector n5 = IntVector.zero(I), n53 = IntVector.zero(I);
        for (int o = 0; o < cb.orbitValues.length; o++) {
            VectorMask<Integer> is = kind.compare(VectorOperators.EQ, (float) o).cast(I);
            n5 = n5.blend(ORBIT_N5[o], is);
            n53 = n53.blend(ORBIT_N53[o], is);
        }
        // the thresholds: the chosen shift's n5-th and n53-th largest keys (none: above every key)
        IntVector t5 = IntVector.broadcast(I, Integer.MAX_VALUE), t53 = IntVector.broadcast(I, Integer.MAX_VALUE);
        for (int r = 0; r < 8; r++) {
            IntVector k = IntVector.fromArray(I, sorted, LANES * r).blend(IntVector.fromArray(I, sorted, BATCH + LANES * r), second);
            t5 = t5.blend(k, n5.compare(VectorOperators.EQ, r + 1));
            t53 = t53.blend(k, n53.compare(VectorOperators.EQ, r + 1));
        }
        FloatVector t = FloatVector.broadcast(F, 0.25f).blend(-0.25f, second.cast(F));
        // the signs of w = z - t, one flipped where the parity needs it (flipAt = -1: none; 1 << -1 leaves bits 0..7)
        IntVector flipAt = (IntVector) FloatVector.fromArray(F, st, OV_ARG * LANES).convert(VectorOperators.F2I, 0);
        IntVector mask = IntVector.fromArray(I, wk.neg, 0).blend(IntVector.fromArray(I, wk.neg, LANES), second)
                .lanewise(VectorOperators.XOR, IntVector.broadcast(I, 1).lanewise(VectorOperators.LSHL, flipAt));
        FloatVector key = FloatVector.zero(F);
        for (int i = 0; i < 8; i++) {
            IntVector k = IntVector.fromArray(I, keys, LANES * i).blend(IntVector.fromArray(I, keys, BATCH + LANES * i), second);
            FloatVector a = FloatVector.broadcast(F, 0.5f).blend(1.5f, k.compare(VectorOperators.GE, t53).cast(F))
                    .blend(2.5f, k.compare(VectorOperators.GE, t5).cast(F));
            for (int p : cb.loosePatterns) a = a.blend(cb.abs[p * 8 + i], kind.compare(VectorOperators.EQ, 1000f + p));
            key = key.add(a.sub(0.5f).mul(POW3[i])); // digit (2a - 1) / 2 = a - 1/2
            VectorMask<Float> negative = mask.and(1 << i).compare(VectorOperators.NE, 0).cast(F);
            a.blend(a.neg(), negative).add(t).intoArray(wk.qp, LANES * i);
        }
        key.intoArray(wk.qKey, 0);
        mask.and(0x7f).lanewise(VectorOperators.LSHL, 8).or(IntVector.zero(I).blend(1 << 15, second)).intoArray(wk.qRest, 0);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The sums in double: ScalarE8Encoder's sumOfSquares, refitSums and refitIsBetter, their four partial sums in four lanes

    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;

    /** Groups [first, first + n) of a unit array in this encoder's layout ([batch][8][LANES]) into plain order. */
    static void untranspose(float[] from, int first, int n, float[] to) {
        for (int g = 0; g < n; g++) {
            int at = (first + g) / LANES * BATCH + (first + g) % LANES;
            for (int i = 0; i < 8; i++) to[8 * g + i] = from[at + LANES * i];
        }
    }

    @Override
    double sumOfSquares(float[] x, int xOff, int n) {
        DoubleVector ss = DoubleVector.zero(D4);
        for (int i = 0; i < n; i += 4) {
            DoubleVector xd = (DoubleVector) FloatVector.fromArray(F4, x, xOff + i).convertShape(VectorOperators.F2D, D4, 0);
            ss = ss.add(xd.mul(xd));
        }
        return (ss.lane(0) + ss.lane(1)) + (ss.lane(2) + ss.lane(3));
    }

    @Override
    void refitSums(float[] x, int xOff, float[] unit, int n, double[] sums) {
        DoubleVector xu = DoubleVector.zero(D4), uu = DoubleVector.zero(D4);
        for (int i = 0; i < n; i += 4) {
            DoubleVector xd = (DoubleVector) FloatVector.fromArray(F4, x, xOff + i).convertShape(VectorOperators.F2D, D4, 0);
            DoubleVector ud = (DoubleVector) FloatVector.fromArray(F4, unit, i).convertShape(VectorOperators.F2D, D4, 0);
            xu = xu.add(xd.mul(ud));
            uu = uu.add(ud.mul(ud));
        }
        sums[0] = (xu.lane(0) + xu.lane(1)) + (xu.lane(2) + xu.lane(3));
        sums[1] = (uu.lane(0) + uu.lane(1)) + (uu.lane(2) + uu.lane(3));
    }

    @Override
    boolean refitIsBetter(float[] x, int xOff, float[] unit, int n, float r, float b) {
        DoubleVector er = DoubleVector.zero(D4), eb = DoubleVector.zero(D4);
        for (int i = 0; i < n; i += 4) {
            DoubleVector xd = (DoubleVector) FloatVector.fromArray(F4, x, xOff + i).convertShape(VectorOperators.F2D, D4, 0);
            DoubleVector ud = (DoubleVector) FloatVector.fromArray(F4, unit, i).convertShape(VectorOperators.F2D, D4, 0);
            DoubleVector dr = xd.sub(ud.mul(r));
            DoubleVector db = xd.sub(ud.mul(b));
            er = er.add(dr.mul(dr));
            eb = eb.add(db.mul(db));
        }
        return (er.lane(0) + er.lane(1)) + (er.lane(2) + er.lane(3)) < (eb.lane(0) + eb.lane(1)) + (eb.lane(2) + eb.lane(3));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // E8Root8: E8Root8.nearest and E8Root8.choose, lane-parallel

    // slots of Work.r8 ([slot][LANES]) and Work.r8i
    private static final int A1 = 0, A2 = 1, SUM_ABS = 2, MIN_ABS = 3;
    private static final int I1 = 0, I2 = 1, MIN_AT = 2, NEG = 3, NEG_COUNT = 4;

    /**
     * For every batch: the two largest |z| (first maxima) and their coordinates, the sum and the smallest of |z|,
     * the sign bits.
     */
    private static void r8Statistics(float[] z, int batches, float[] s, int[] si) {
        for (int bi = 0; bi < batches; bi++) { // nothing is carried from one batch to the next
            int off = bi * BATCH, sb = bi * 4 * LANES, sib = bi * 5 * LANES;
            FloatVector a1 = FloatVector.broadcast(F, -1f), a2 = FloatVector.broadcast(F, -1f);
            IntVector i1 = IntVector.broadcast(I, -1), i2 = IntVector.broadcast(I, -1);
            FloatVector sumAbs = FloatVector.zero(F);
            IntVector neg = IntVector.zero(I), count = IntVector.zero(I), minAt = IntVector.zero(I);
            FloatVector minAbs = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            for (int i = 0; i < 8; i++) {
                FloatVector v = FloatVector.fromArray(F, z, off + LANES * i);
                FloatVector a = v.abs();
                sumAbs = sumAbs.add(a);
                VectorMask<Integer> negative = v.compare(VectorOperators.LT, 0f).cast(I);
                neg = neg.blend(neg.or(1 << i), negative);
                count = count.blend(count.add(1), negative);
                VectorMask<Float> lt = a.compare(VectorOperators.LT, minAbs);
                minAbs = minAbs.blend(a, lt);
                minAt = minAt.blend(i, lt.cast(I));
                VectorMask<Float> gt1 = a.compare(VectorOperators.GT, a1);
                VectorMask<Float> gt2 = a.compare(VectorOperators.GT, a2).andNot(gt1);
                a2 = a2.blend(a1, gt1).blend(a, gt2);
                i2 = i2.blend(i1, gt1.cast(I)).blend(i, gt2.cast(I));
                a1 = a1.blend(a, gt1);
                i1 = i1.blend(i, gt1.cast(I));
            }
            a1.intoArray(s, sb + A1 * LANES);
            a2.intoArray(s, sb + A2 * LANES);
            sumAbs.intoArray(s, sb + SUM_ABS * LANES);
            minAbs.intoArray(s, sb + MIN_ABS * LANES);
            i1.intoArray(si, sib + I1 * LANES);
            i2.intoArray(si, sib + I2 * LANES);
            minAt.intoArray(si, sib + MIN_AT * LANES);
            neg.intoArray(si, sib + NEG * LANES);
            count.intoArray(si, sib + NEG_COUNT * LANES);
        }
    }

    /**
     * E8Root8.choose for every lane of every batch: the best of the three families (the same scores, compared in the
     * same order), its code into {@code codes[batch * LANES ..]} and its point into {@code p}.
     */
    private static void r8Choose(float[] s, int[] si, float[] p, int batches, int[] codes) {
        for (int bi = 0; bi < batches; bi++) { // nothing is carried from one batch to the next
            int off = bi * BATCH, codeOff = bi * LANES, sb = bi * 4 * LANES, sib = bi * 5 * LANES;
            FloatVector a1 = FloatVector.fromArray(F, s, sb + A1 * LANES);
            IntVector i1 = IntVector.fromArray(I, si, sib + I1 * LANES), i2 = IntVector.fromArray(I, si, sib + I2 * LANES);
            IntVector neg = IntVector.fromArray(I, si, sib + NEG * LANES), minAt = IntVector.fromArray(I, si, sib + MIN_AT * LANES);
            // family 1: (±1, ±1) on the two largest |z_i|
            FloatVector score1 = a1.add(FloatVector.fromArray(F, s, sb + A2 * LANES)).sub(1f);
            // family 2: (±½)^8 with the signs of z, the smallest |z_i| flipped when the count of minus signs is odd
            VectorMask<Integer> oddMask = IntVector.fromArray(I, si, sib + NEG_COUNT * LANES).and(1).compare(VectorOperators.NE, 0);
            FloatVector score2 = FloatVector.fromArray(F, s, sb + SUM_ABS * LANES).mul(0.5f).sub(1f);
            score2 = score2.blend(score2.sub(FloatVector.fromArray(F, s, sb + MIN_ABS * LANES)), oddMask.cast(F));
            IntVector signs = neg.blend(neg.lanewise(VectorOperators.XOR, IntVector.broadcast(I, 1).lanewise(VectorOperators.LSHL, minAt)), oddMask);
            // family 3: ±2 e_i at the largest |z_i|
            FloatVector score3 = a1.mul(2f).sub(2f);
            VectorMask<Float> fam1 = score1.compare(VectorOperators.GE, score2).and(score1.compare(VectorOperators.GE, score3));
            VectorMask<Float> fam2 = fam1.not().and(score2.compare(VectorOperators.GE, score3));
            IntVector lo = i1.min(i2), hi = i1.max(i2);
            // pair (lo, hi) is number 7 lo - lo (lo - 1) / 2 + hi - lo - 1 in lexicographic order, four codes each
            IntVector pair = lo.mul(7).sub(lo.mul(lo.sub(1)).lanewise(VectorOperators.ASHR, 1)).add(hi).sub(lo).sub(1);
            IntVector bitLo = neg.lanewise(VectorOperators.LSHR, lo).and(1), bitHi = neg.lanewise(VectorOperators.LSHR, hi).and(1);
            IntVector bitI1 = neg.lanewise(VectorOperators.LSHR, i1).and(1);
            IntVector code1 = pair.lanewise(VectorOperators.LSHL, 2).add(bitLo.lanewise(VectorOperators.LSHL, 1)).or(bitHi);
            IntVector code2 = signs.and(0x7f).add(112);
            IntVector code3 = i1.lanewise(VectorOperators.LSHL, 1).add(240).add(bitI1);
            code3.blend(code2, fam2.cast(I)).blend(code1, fam1.cast(I)).intoArray(codes, codeOff);
            FloatVector zero = FloatVector.zero(F);
            for (int i = 0; i < 8; i++) {
                VectorMask<Float> negative = neg.and(1 << i).compare(VectorOperators.NE, 0).cast(F);
                FloatVector one = FloatVector.broadcast(F, 1f).blend(-1f, negative);
                FloatVector v1 = zero.blend(one, lo.compare(VectorOperators.EQ, i).or(hi.compare(VectorOperators.EQ, i)).cast(F));
                FloatVector v2 = FloatVector.broadcast(F, 0.5f).blend(-0.5f, signs.and(1 << i).compare(VectorOperators.NE, 0).cast(F));
                FloatVector v3 = zero.blend(one.mul(2f), i1.compare(VectorOperators.EQ, i).cast(F));
                v3.blend(v2, fam2).blend(v1, fam1).intoArray(p, off + LANES * i);
            }
        }
    }
}
