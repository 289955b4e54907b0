package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@link Kernels} with the Panama Vector API, for CPUs with 256-bit (8 floats) or 512-bit (16 floats) vectors. Each
 * method computes what the {@link ScalarKernels} method of the same name computes, up to the order of float
 * additions.
 *
 * <p>Quantized rows are decoded in registers: bytes are widened to float lanes ({@code castShape}) and multiplied into
 * the accumulator without going through memory. fp16 is widened with integer operations (shift the exponent and
 * mantissa into place, multiply by 2^112 to re-bias, which also handles subnormals; infinities and NaN are blended in),
 * since the Vector API has no half-precision conversion.
 */
public final class VectorKernels implements Kernels {

    static final VectorKernels INSTANCE = new VectorKernels();

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.length() >= 16
            ? IntVector.SPECIES_512 : IntVector.SPECIES_PREFERRED;
    /** Shorts with as many lanes as {@link #F}. */
    static final VectorSpecies<Short> S = L == 16 ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    /** Bytes with as many lanes as {@link #F}. */
    static final VectorSpecies<Byte> BL = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private VectorKernels() {
    }

    static boolean isUsable() {
        return (L == 8 || L == 16) && I.length() == L;
    }

    @Override
    public String name() {
        return "vector" + (L * 32);
    }

    // ---- dense float ----

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float s = 0;
        if (n >= 2 * L) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
                acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
                acc1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), acc1);
            }
            s = Lanes.sum(acc0.add(acc1));
        }
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (int bound = F.loopBound(n); i < bound; i += L) {
                FloatVector.fromArray(F, x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public float expShifted(float[] x, int off, int n, float max) {
        int i = 0;
        float sum = 0;
        if (n >= L) {
            FloatVector vmax = FloatVector.broadcast(F, max);
            FloatVector acc = FloatVector.zero(F);
            for (int bound = F.loopBound(n); i < bound; i += L) {
                FloatVector e = Lanes.exp(FloatVector.fromArray(F, x, off + i).sub(vmax));
                e.intoArray(x, off + i);
                acc = acc.add(e);
            }
            sum = Lanes.sum(acc);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        int i = 0;
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector e = Lanes.exp(g.neg());
            g.div(e.add(one)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** fp16 bits (sign-extended in int lanes) to floats. */
    static FloatVector halfToFloat(IntVector h) {
        IntVector abs = h.and(IntVector.broadcast(I, 0x7FFF));
        IntVector sign = h.and(IntVector.broadcast(I, 0x8000)).lanewise(VectorOperators.LSHL, 16);
        IntVector shifted = abs.lanewise(VectorOperators.LSHL, 13);
        IntVector normal = shifted.reinterpretAsFloats().mul(FloatVector.broadcast(F, 0x1p112f)).reinterpretAsInts();
        VectorMask<Integer> special = abs.compare(VectorOperators.GE, IntVector.broadcast(I, 0x7C00));
        return normal.blend(shifted.or(IntVector.broadcast(I, 0x7F800000)), special).or(sign).reinterpretAsFloats();
    }

    static FloatVector halves(short[] a, int off) {
        return halfToFloat((IntVector) ShortVector.fromArray(S, a, off).convertShape(VectorOperators.S2I, I, 0));
    }

    static FloatVector halves(MemorySegment s, long off) {
        return halfToFloat((IntVector) ShortVector.fromMemorySegment(S, s, off, LE).convertShape(VectorOperators.S2I, I, 0));
    }

    static FloatVector bfloats(MemorySegment s, long off) {
        IntVector i = (IntVector) ShortVector.fromMemorySegment(S, s, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    public float dotF16(float[] a, int aOff, short[] b, int bOff, int n) {
        int i = 0;
        float s = 0;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(F);
            for (int bound = F.loopBound(n); i < bound; i += L) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(halves(b, bOff + i), acc);
            }
            s = Lanes.sum(acc);
        }
        for (; i < n; i++) s += a[aOff + i] * Float.float16ToFloat(b[bOff + i]);
        return s;
    }

    @Override
    public void axpyF16(float alpha, short[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (int bound = F.loopBound(n); i < bound; i += L) {
                halves(x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) y[yOff + i] += alpha * Float.float16ToFloat(x[xOff + i]);
    }

    // ---- weight rows ----

    @Override
    public float dotRow(Weights w, int row, float[] x, int xOff) {
        MemorySegment s = w.data();
        long off = w.rowOffset(row);
        int cols = w.cols();
        return switch (w.type()) {
            case F32 -> dotF32(s, off, x, xOff, cols);
            case F16 -> dotF16(s, off, x, xOff, cols);
            case BF16 -> dotBF16(s, off, x, xOff, cols);
            case Q8_0 -> dotQ8_0(s, off, x, xOff, cols); // grouped rows (Q8Groups) are read from the file one at a time
            case Q4_0 -> dotQ4_0(s, off, x, xOff, cols);
            case Q4_K -> dotQ4_K(s, off, x, xOff, cols);
            case Q6_K -> dotQ6_K(s, off, x, xOff, cols);
            default -> throw new UnsupportedOperationException("no kernels for " + w.type());
        };
    }

    static float dotF32(MemorySegment s, long off, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0; // independent chains hide FMA latency
        for (int bound = n - 4 * L; i <= bound; i += 4 * L) {
            acc0 = FloatVector.fromMemorySegment(F, s, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, s, off + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xOff + i + L), acc1);
            acc2 = FloatVector.fromMemorySegment(F, s, off + 4L * (i + 2 * L), LE).fma(FloatVector.fromArray(F, x, xOff + i + 2 * L), acc2);
            acc3 = FloatVector.fromMemorySegment(F, s, off + 4L * (i + 3 * L), LE).fma(FloatVector.fromArray(F, x, xOff + i + 3 * L), acc3);
        }
        for (int bound = n - L; i <= bound; i += L) {
            acc0 = FloatVector.fromMemorySegment(F, s, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float r = Lanes.sum(acc0.add(acc1).add(acc2.add(acc3)));
        for (; i < n; i++) r += s.get(Quants.F32, off + 4L * i) * x[xOff + i];
        return r;
    }

    /** Per-thread scratch for fp16 rows: raw halves and their floats. */
    private static final int HALF_PIECE = 512;
    private static final ThreadLocal<Object[]> HALF_SCRATCH = ThreadLocal.withInitial(() -> new Object[]{new short[HALF_PIECE], new float[HALF_PIECE]});

    /**
     * fp16 row . x. With 16 lanes (AVX-512) the halves are widened in int lanes ({@link #halfToFloat}) straight from the
     * row: RowThroughput-style scratch benchmark on this Zen 5 machine, 2048 x 2048, best of 150: 32.9 against 18-19.7
     * GB/s for the copy-and-convert form below. With 8 lanes (AVX2) the copy-and-convert form was measured 2x faster
     * than integer widening, so it stays there.
     */
    static float dotF16(MemorySegment s, long off, float[] x, int xOff, int n) {
        return L == 16 ? dotF16Lanes(s, off, x, xOff, n) : dotF16Copied(s, off, x, xOff, n);
    }

    /**
     * fp16 row . x with the halves widened in int lanes; 2 chains of accumulation. {@link #halfToFloat}'s operations
     * are written out here: called as a helper, C2 sometimes did not inline it (once it had compiled it on its own
     * for the attention kernels) and boxed every vector, and a whole decode ran 30x slower in one JVM out of three.
     */
    static float dotF16Lanes(MemorySegment s, long off, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        IntVector absMask = IntVector.broadcast(I, 0x7FFF), signMask = IntVector.broadcast(I, 0x8000);
        IntVector infinity = IntVector.broadcast(I, 0x7C00), expAll = IntVector.broadcast(I, 0x7F800000);
        FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        for (int bound = n - L; i <= bound; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector abs = h.and(absMask);
            IntVector shifted = abs.lanewise(VectorOperators.LSHL, 13);
            IntVector normal = shifted.reinterpretAsFloats().mul(rebias).reinterpretAsInts();
            VectorMask<Integer> special = abs.compare(VectorOperators.GE, infinity);
            FloatVector w = normal.blend(shifted.or(expAll), special).or(h.and(signMask).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            if ((i & L) == 0) acc0 = w.fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            else acc1 = w.fma(FloatVector.fromArray(F, x, xOff + i), acc1);
        }
        float r = Lanes.sum(acc0.add(acc1));
        for (; i < n; i++) r += Quants.f16(s, off + 2L * i) * x[xOff + i];
        return r;
    }

    /** Per-thread [cols]: x times 2^112 for {@link #dotF16Finite}. */
    private static final ThreadLocal<float[][]> HALF_X = ThreadLocal.withInitial(() -> new float[][]{new float[0], new float[16]});

    /**
     * Rows {@code from .. to - 1} of an fp16 matrix whose values are all finite ({@link HalfRows#prepare}) through
     * {@link #dotF16Finite}; false (nothing written) when x cannot be scaled exactly ({@link HalfRows#scale}).
     */
    private static boolean dotF16Rows(Weights w, int from, int to, float[] x, int xOff, float[] out, int outOff) {
        int cols = w.cols();
        float[][] holder = HALF_X.get();
        if (holder[0].length < cols) holder[0] = new float[cols];
        float[] xs = holder[0];
        if (!HalfRows.scale(x, xOff, cols, xs)) return false;
        MemorySegment s = w.data();
        if (L == 16 && cols % 16 == 0) { // every row's 16 lanes summed as scalars (sum16): the same bits, faster
            float[] acc = holder[1];
            for (int r = from; r < to; r++) {
                dotF16FiniteLanes(s, w.rowOffset(r), xs, cols, acc);
                out[outOff + r - from] = sum16(acc);
            }
            return true;
        }
        for (int r = from; r < to; r++) out[outOff + r - from] = dotF16Finite(s, w.rowOffset(r), xs, x, xOff, cols);
        return true;
    }

    /**
     * The 16 lanes of {@link #dotF16Finite}'s final vector, before its lane sum, into {@code acc[0 .. 15]}, for
     * {@code n % 16 == 0} (no scalar tail). {@link #dotF16Rows} then sums them with {@link #sum16}: the same additions
     * as {@link Lanes#sum}, so the same bits, without the cross-lane moves C2 makes of {@code reinterpretShape(..., 1)}
     * (a general permute whose index vector it computes per call), which at 512-value rows (nq-ref-27m) cost 7% of the
     * kernel's speed from cache (BENCHMARKS.md, "Decode, 2026-12-04 (second session)").
     *
     * @param acc [16] written
     */
    static void dotF16FiniteLanes(MemorySegment s, long off, float[] xs, int n, float[] acc) {
        int i = 0;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        IntVector keep = IntVector.broadcast(I, 0x8FFFE000);
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * (i + L), LE).convertShape(VectorOperators.S2I, I, 0);
            acc0 = h0.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i), acc0);
            acc1 = h1.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i + L), acc1);
        }
        if (i + L <= n) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            acc0 = h0.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i), acc0);
        }
        acc0.add(acc1).intoArray(acc, 0);
    }

    /**
     * {@link Lanes#sum} of a 16-lane vector stored in {@code v[0 .. 15]}, as scalars: lanes i and i + 8, then i and
     * i + 4, then (0 + 2) + (1 + 3): the same tree, so the same bits.
     */
    static float sum16(float[] v) {
        float t0 = v[0] + v[8], t1 = v[1] + v[9], t2 = v[2] + v[10], t3 = v[3] + v[11];
        float t4 = v[4] + v[12], t5 = v[5] + v[13], t6 = v[6] + v[14], t7 = v[7] + v[15];
        float u0 = t0 + t4, u1 = t1 + t5, u2 = t2 + t6, u3 = t3 + t7;
        return (u0 + u2) + (u1 + u3);
    }

    /**
     * fp16 row . x for rows with no infinity or NaN ({@link HalfRows}), 16 lanes: each half is sign-extended to an
     * int, shifted left by 13 and masked (sign bit, then the 15 bits of exponent and mantissa), which is the value
     * times 2^-112 as a float, and multiplied with {@code xs = x * 2^112}: the same products, chains and tail as
     * {@link #dotF16Lanes}, so the same bits, in 4 vector operations per 16 values instead of 11.
     *
     * @param xs [n] x times 2^112 ({@link HalfRows#scale})
     * @param x  the unscaled x, for the tail past the last whole vector
     */
    static float dotF16Finite(MemorySegment s, long off, float[] xs, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        IntVector keep = IntVector.broadcast(I, 0x8FFFE000); // bit 31 (the sign, extended), bits 27..13 (the half's 14..0)
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * (i + L), LE).convertShape(VectorOperators.S2I, I, 0);
            acc0 = h0.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i), acc0);
            acc1 = h1.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i + L), acc1);
        }
        if (i + L <= n) { // i is a multiple of 2L here: this vector goes to acc0, as in dotF16Lanes
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, s, off + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            acc0 = h0.lanewise(VectorOperators.LSHL, 13).and(keep).reinterpretAsFloats().fma(FloatVector.fromArray(F, xs, i), acc0);
            i += L;
        }
        float r = Lanes.sum(acc0.add(acc1));
        for (; i < n; i++) r += Quants.f16(s, off + 2L * i) * x[xOff + i];
        return r;
    }

    /**
     * fp16 row . x: pieces of the row are copied to a short[] and widened by a plain loop that C2 compiles to the CPU's
     * half-to-float instruction (vcvtph2ps), then dotted from L1 (the faster form with 8 lanes).
     */
    static float dotF16Copied(MemorySegment s, long off, float[] x, int xOff, int n) {
        Object[] scratch = HALF_SCRATCH.get();
        short[] h = (short[]) scratch[0];
        float[] f = (float[]) scratch[1];
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        float r = 0;
        for (int c = 0; c < n; c += HALF_PIECE) {
            int m = Math.min(HALF_PIECE, n - c);
            MemorySegment.copy(s, I16, off + 2L * c, h, 0, m);
            for (int i = 0; i < m; i++) f[i] = Float.float16ToFloat(h[i]);
            int i = 0;
            for (int bound = m - 4 * L; i <= bound; i += 4 * L) {
                acc0 = FloatVector.fromArray(F, f, i).fma(FloatVector.fromArray(F, x, xOff + c + i), acc0);
                acc1 = FloatVector.fromArray(F, f, i + L).fma(FloatVector.fromArray(F, x, xOff + c + i + L), acc1);
                acc2 = FloatVector.fromArray(F, f, i + 2 * L).fma(FloatVector.fromArray(F, x, xOff + c + i + 2 * L), acc2);
                acc3 = FloatVector.fromArray(F, f, i + 3 * L).fma(FloatVector.fromArray(F, x, xOff + c + i + 3 * L), acc3);
            }
            for (; i < m; i++) r += f[i] * x[xOff + c + i];
        }
        return r + Lanes.sum(acc0.add(acc1).add(acc2.add(acc3)));
    }

    static float dotBF16(MemorySegment s, long off, float[] x, int xOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F), acc1 = acc;
        for (int bound = n - 2 * L; i <= bound; i += 2 * L) {
            acc = bfloats(s, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
            acc1 = bfloats(s, off + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOff + i + L), acc1);
        }
        for (int bound = n - L; i <= bound; i += L) {
            acc = bfloats(s, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float r = Lanes.sum(acc.add(acc1));
        for (; i < n; i++) r += Quants.bf16(s.get(I16, off + 2L * i)) * x[xOff + i];
        return r;
    }

    /**
     * Q8_0 row . x in the file's layout (34-byte blocks: fp16 scale, 32 int8 values). The products of a block are summed
     * as a short tree and each block adds into one of two totals, so no long chain of dependent FMAs limits the speed.
     * The byte widening is written out in the loop: through a helper returning a vector, C2 could leave the helper out
     * of line and box every vector (seen with the fp16 and Q4_K kernels).
     */
    static float dotQ8_0(MemorySegment s, long off, float[] x, int xOff, int n) {
        return L == 16 ? dotQ8_0x16(s, off, x, xOff, n) : dotQ8_0x8(s, off, x, xOff, n);
    }

    /** {@link #dotQ8_0} with 16 lanes: a block is two 16-byte loads widened to floats. */
    static float dotQ8_0x16(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        int c = 0;
        for (; c + 64 <= n; c += 64, off += 68) {
            FloatVector a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 2, LE).castShape(F, 0)).mul(FloatVector.fromArray(F, x, xOff + c));
            a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 18, LE).castShape(F, 0)).fma(FloatVector.fromArray(F, x, xOff + c + 16), a);
            FloatVector b = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 36, LE).castShape(F, 0)).mul(FloatVector.fromArray(F, x, xOff + c + 32));
            b = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 52, LE).castShape(F, 0)).fma(FloatVector.fromArray(F, x, xOff + c + 48), b);
            total0 = a.fma(FloatVector.broadcast(F, Quants.f16(s, off)), total0);
            total1 = b.fma(FloatVector.broadcast(F, Quants.f16(s, off + 34)), total1);
        }
        if (c < n) { // an odd number of blocks: the last one
            FloatVector a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 2, LE).castShape(F, 0)).mul(FloatVector.fromArray(F, x, xOff + c));
            a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 18, LE).castShape(F, 0)).fma(FloatVector.fromArray(F, x, xOff + c + 16), a);
            total0 = a.fma(FloatVector.broadcast(F, Quants.f16(s, off)), total0);
        }
        return Lanes.sum(total0.add(total1));
    }

    /** {@link #dotQ8_0} with 8 lanes: a block is four 8-byte loads widened to floats. */
    static float dotQ8_0x8(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        for (int c = 0; c < n; c += 32, off += 34) {
            FloatVector a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 2, LE).castShape(F, 0)).mul(FloatVector.fromArray(F, x, xOff + c));
            FloatVector b = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 10, LE).castShape(F, 0)).mul(FloatVector.fromArray(F, x, xOff + c + 8));
            a = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 18, LE).castShape(F, 0)).fma(FloatVector.fromArray(F, x, xOff + c + 16), a);
            b = ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 26, LE).castShape(F, 0)).fma(FloatVector.fromArray(F, x, xOff + c + 24), b);
            FloatVector d = FloatVector.broadcast(F, Quants.f16(s, off));
            if ((c & 32) == 0) total0 = a.add(b).fma(d, total0);
            else total1 = a.add(b).fma(d, total1);
        }
        return Lanes.sum(total0.add(total1));
    }

    /** Whether {@link #prepare} packs Q8_0 and Q4_K rows ({@code -Dnq.packWeights=false} keeps reading them from the file). */
    static final boolean PACK = !"false".equalsIgnoreCase(System.getProperty("nq.packWeights", "true"));

    /**
     * Whether {@link #prepare} packs Q6_K rows for the integer kernel {@link #dotQ6_KGroup} ({@code -Dnq.q6kGroups=false}
     * keeps the float row kernel {@link #dotQ6_K} on the file's rows, as {@code nq.packWeights=false} does for all types).
     */
    static final boolean Q6_GROUPS = !"false".equalsIgnoreCase(System.getProperty("nq.q6kGroups", "true"));

    @Override
    public Weights prepare(Weights w, java.lang.foreign.Arena arena) {
        if (!PACK || L != 16 || w.packed() != null) return w;
        if (Q8Groups.worthPacking(w)) return Q8Groups.pack(w, arena);
        if (Q4kGroups.packable(w)) return Q4kGroups.pack(w, arena);
        if (Q6_GROUPS && Q6kGroups.packable(w)) return Q6kGroups.pack(w, arena);
        return HalfRows.prepare(w);
    }

    /**
     * 16 rows of a grouped Q8_0 matrix ({@link Q8Groups}) dotted with x: {@code out[o + i]} = row {@code i} of the group.
     * Each 64-byte load holds 4 columns of 16 rows; byte {@code k} of every int lane is taken by shifting it to the top
     * and back (arithmetic: the sign comes along), converted, and multiplied by one broadcast {@code x[c]}; one chain
     * per byte position, then one FMA with the 16 rows' scales per block of 32 columns. (With the column's 16 bytes
     * widened by one cross-lane conversion instead, RowThroughput Q8_0 from cache ran at 21-22 GB/s against 37-40 for
     * the row kernel it replaced.)
     *
     * @param q byte offset of the group's quants in {@code p}
     * @param s byte offset of its scales
     */
    static void dotQ8_0Group(MemorySegment p, long q, long s, float[] x, int xOff, int n, float[] out, int o) {
        FloatVector total = FloatVector.zero(F);
        for (int c = 0; c < n; c += 32, q += Q8Groups.BLOCK, s += Q8Groups.BLOCK) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < 8; j++) {
                int xi = xOff + c + 4 * j;
                IntVector v = IntVector.fromMemorySegment(I, p, q + 64L * j, LE);
                a0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).fma(FloatVector.broadcast(F, x[xi]), a0);
                a1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).fma(FloatVector.broadcast(F, x[xi + 1]), a1);
                a2 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).fma(FloatVector.broadcast(F, x[xi + 2]), a2);
                a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).fma(FloatVector.broadcast(F, x[xi + 3]), a3);
            }
            total = a0.add(a1).add(a2.add(a3)).fma(FloatVector.fromMemorySegment(F, p, s, LE), total);
        }
        total.intoArray(out, o);
    }

    /**
     * Whether decode's grouped Q8_0 product rounds x to 8 bits per block of 32 and multiplies on integer lanes
     * ({@link #dotQ8_0GroupQ8}), as llama.cpp's Q8_0 activations: on by default, off with
     * {@code -Dnq.q8Activations=false} (the float kernel {@link #dotQ8_0Group}, same layout). The kernel is 1.19x faster
     * from L2; in decode, alternating processes at load 1.2-1.6 (2026-12-04 17:15-17:18), 7 of 7 pairs faster: project
     * model 1.01-1.15x (4 pairs), 1B Q8_0 1.02-1.09x (3 pairs); decode perplexity +0.096% on the project model
     * (BENCHMARKS.md, "Decode, 2026-12-04 (fourth session)" and the fifth session's Q8_0 paragraph).
     */
    static final boolean Q8_ACTS = !"false".equalsIgnoreCase(System.getProperty("nq.q8Activations"));

    /**
     * Whether single-token products over grouped rows of {@code type} multiply x rounded to 8 bits (Q4_K always; Q6_K
     * and Q8_0 unless {@code -Dnq.q6kGroups=false} / {@code -Dnq.q8Activations=false}): the one reading of those switches,
     * for tests that compare decode with float products.
     */
    public static boolean roundsActivations(dev.nexusquant.engine.gguf.GgmlType type) {
        return switch (type) {
            case Q4_K -> true;
            case Q6_K -> Q6_GROUPS;
            case Q8_0 -> Q8_ACTS;
            default -> false;
        };
    }

    private static final ThreadLocal<Q8Activations> Q8_ACTIVATIONS = ThreadLocal.withInitial(Q8Activations::new);

    /**
     * 16 rows of a grouped Q8_0 matrix ({@link Q8Groups}) dotted with x rounded to 8 bits per block of 32
     * ({@link Q8Activations}): {@code out[o + i]} = row {@code i} of the group. Each 64-byte load is read as 32 lanes
     * of 16 bits, lane {@code 2i} holding columns {@code 4j, 4j + 1} of row i and lane {@code 2i + 1} columns
     * {@code 4j + 2, 4j + 3}; the low bytes (two shifts, sign kept) meet one broadcast pair of x, the high bytes (one
     * shift) another, and the two products per lane are added in 16 bits (|sum| <= 2 * 128 * 127 = 32512). The two
     * halves of each int lane (one row) are then summed without splitting both: the low half is biased by 2^15 (xor), so
     * that it reads as an unsigned 0..65535, the high half (one arithmetic shift) is summed apart, and the low halves'
     * sum comes back at the block's end as the ints' total less 2^16 times the high halves'. The exact integer sum of a
     * block is converted to float (exact), times x's step and then the rows' scales; the scalar twin
     * {@link ScalarKernels#dotQ8_0GroupQ8} does the same float operations in the same order, so the same bits.
     *
     * @param q  byte offset of the group's quants in {@code p}
     * @param s  byte offset of its scales
     * @param xq [cols / 2] x in 8 bits, in pairs ({@link Q8Activations#xq})
     * @param xd [cols / 32] the step of each block's 8-bit x
     */
    static void dotQ8_0GroupQ8(MemorySegment p, long q, long s, int[] xq, float[] xd, int n, float[] out, int o) {
        FloatVector total = FloatVector.zero(F);
        IntVector bias = IntVector.broadcast(I, 0x8000);
        for (int c = 0; c < n; c += 32, q += Q8Groups.BLOCK, s += Q8Groups.BLOCK) {
            IntVector hi = IntVector.zero(I), all = hi;
            int xi = c >> 1;
            for (int j = 0; j < 8; j++, xi += 2) {
                ShortVector v = ShortVector.fromMemorySegment(S32, p, q + 64L * j, LE);
                ShortVector prod = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(IntVector.broadcast(I, xq[xi]).reinterpretAsShorts())
                        .add(v.lanewise(VectorOperators.ASHR, 8).mul(IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts()));
                IntVector r = prod.reinterpretAsInts().lanewise(VectorOperators.XOR, bias); // low half: its value + 2^15
                hi = hi.add(r.lanewise(VectorOperators.ASHR, 16));
                all = all.add(r);
            }
            // sum of the low halves = all - 2^16 * hi, less the 8 biases (int arithmetic wraps, the result is exact)
            IntVector t = all.sub(hi.lanewise(VectorOperators.LSHL, 16)).add(hi).sub(8 * 0x8000);
            total = ((FloatVector) t.castShape(F, 0)).mul(xd[c >> 5]).fma(FloatVector.fromMemorySegment(F, p, s, LE), total);
        }
        total.intoArray(out, o);
    }

    /**
     * Two groups of a grouped Q8_0 matrix of {@code n} columns (quants at byte offsets {@code q} and {@code q1}) dotted
     * with x in 8 bits: {@code out[o .. o + 15]} the first group's rows, {@code out[o1 .. o1 + 15]} the second's. Each
     * group's operations are {@link #dotQ8_0GroupQ8}'s (same bits); two streams of loads and one broadcast of x for both:
     * decode's walk with {@code -Dnq.q8Kernel=split} ({@link Q8GroupStreams}). Here, not there, so that the launcher's compile
     * thresholds for this class cover it.
     */
    static void dotQ8_0GroupPairQ8(MemorySegment p, long q, long q1, int[] xq, float[] xd, int n, float[] out, int o, int o1) {
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        IntVector bias = IntVector.broadcast(I, 0x8000);
        for (int c = 0; c < n; c += 32, q += Q8Groups.BLOCK, q1 += Q8Groups.BLOCK) {
            IntVector hi0 = IntVector.zero(I), all0 = hi0, hi1 = hi0, all1 = hi0;
            int xi = c >> 1;
            for (int j = 0; j < 8; j++, xi += 2) {
                ShortVector xa = IntVector.broadcast(I, xq[xi]).reinterpretAsShorts(), xb = IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts();
                ShortVector v0 = ShortVector.fromMemorySegment(S32, p, q + 64L * j, LE);
                ShortVector v1 = ShortVector.fromMemorySegment(S32, p, q1 + 64L * j, LE);
                IntVector r0 = v0.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(v0.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                IntVector r1 = v1.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(v1.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                hi0 = hi0.add(r0.lanewise(VectorOperators.ASHR, 16));
                all0 = all0.add(r0);
                hi1 = hi1.add(r1.lanewise(VectorOperators.ASHR, 16));
                all1 = all1.add(r1);
            }
            FloatVector d = FloatVector.broadcast(F, xd[c >> 5]);
            IntVector t0 = all0.sub(hi0.lanewise(VectorOperators.LSHL, 16)).add(hi0).sub(8 * 0x8000);
            IntVector t1 = all1.sub(hi1.lanewise(VectorOperators.LSHL, 16)).add(hi1).sub(8 * 0x8000);
            total0 = ((FloatVector) t0.castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, q + Q8Groups.QUANTS, LE), total0);
            total1 = ((FloatVector) t1.castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, q1 + Q8Groups.QUANTS, LE), total1);
        }
        total0.intoArray(out, o);
        total1.intoArray(out, o1);
    }

    /**
     * Four groups of a grouped Q8_0 matrix (quants at {@code qa .. qd}) dotted with x in 8 bits in one loop, four streams
     * of loads and one broadcast of x for four groups: rows into {@code out} at {@code oa .. od}. Each group's operations
     * are {@link #dotQ8_0GroupQ8}'s (same bits). Decode's default walk ({@link Q8GroupStreams}, {@code split4}: groups g,
     * g + quarter, g + 2 quarter, g + 3 quarter). Written out in one method: with the 64-byte step in a helper method C2
     * ran it at a tenth of the speed.
     */
    static void dotQ8_0GroupQuadQ8(MemorySegment p, long qa, long qb, long qc, long qd, int[] xq, float[] xd, int n, float[] out,
                        int oa, int ob, int oc, int od) {
        FloatVector ta = FloatVector.zero(F), tb = ta, tc = ta, td = ta;
        IntVector bias = IntVector.broadcast(I, 0x8000);
        for (int c = 0; c < n; c += 32, qa += Q8Groups.BLOCK, qb += Q8Groups.BLOCK, qc += Q8Groups.BLOCK, qd += Q8Groups.BLOCK) {
            IntVector ha = IntVector.zero(I), aa = ha, hb = ha, ab = ha, hc = ha, ac = ha, hd = ha, ad = ha;
            int xi = c >> 1;
            for (int j = 0; j < 8; j++, xi += 2) {
                ShortVector xa = IntVector.broadcast(I, xq[xi]).reinterpretAsShorts(), xb = IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts();
                ShortVector va = ShortVector.fromMemorySegment(S32, p, qa + 64L * j, LE);
                IntVector ra = va.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(va.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                ShortVector vb = ShortVector.fromMemorySegment(S32, p, qb + 64L * j, LE);
                IntVector rb = vb.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(vb.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                ShortVector vc = ShortVector.fromMemorySegment(S32, p, qc + 64L * j, LE);
                IntVector rc = vc.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(vc.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                ShortVector vd = ShortVector.fromMemorySegment(S32, p, qd + 64L * j, LE);
                IntVector rd = vd.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(xa)
                        .add(vd.lanewise(VectorOperators.ASHR, 8).mul(xb)).reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                ha = ha.add(ra.lanewise(VectorOperators.ASHR, 16));
                aa = aa.add(ra);
                hb = hb.add(rb.lanewise(VectorOperators.ASHR, 16));
                ab = ab.add(rb);
                hc = hc.add(rc.lanewise(VectorOperators.ASHR, 16));
                ac = ac.add(rc);
                hd = hd.add(rd.lanewise(VectorOperators.ASHR, 16));
                ad = ad.add(rd);
            }
            FloatVector d = FloatVector.broadcast(F, xd[c >> 5]);
            ta = ((FloatVector) aa.sub(ha.lanewise(VectorOperators.LSHL, 16)).add(ha).sub(8 * 0x8000).castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, qa + Q8Groups.QUANTS, LE), ta);
            tb = ((FloatVector) ab.sub(hb.lanewise(VectorOperators.LSHL, 16)).add(hb).sub(8 * 0x8000).castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, qb + Q8Groups.QUANTS, LE), tb);
            tc = ((FloatVector) ac.sub(hc.lanewise(VectorOperators.LSHL, 16)).add(hc).sub(8 * 0x8000).castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, qc + Q8Groups.QUANTS, LE), tc);
            td = ((FloatVector) ad.sub(hd.lanewise(VectorOperators.LSHL, 16)).add(hd).sub(8 * 0x8000).castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, qd + Q8Groups.QUANTS, LE), td);
        }
        ta.intoArray(out, oa);
        tb.intoArray(out, ob);
        tc.intoArray(out, oc);
        td.intoArray(out, od);
    }

    /** Rows {@code from .. to - 1} of a grouped Q8_0 matrix: whole groups straight into {@code out}, cut ones through a scratch. */
    private static void dotQ8_0Groups(Weights w, int from, int to, float[] x, int xOff, float[] out, int outOff) {
        int cols = w.cols(), n = Q8Groups.ROWS;
        MemorySegment p = w.packed();
        Q8Activations a = Q8_ACTS ? Q8_ACTIVATIONS.get().prepare(x, xOff, cols) : null;
        for (int g = from / n; g * n < to; g++) {
            long q = Q8Groups.quants(g, cols), sc = Q8Groups.scales(g, cols);
            int r0 = g * n;
            if (a != null && Q8GroupStreams.ON && r0 >= from && r0 + n <= to) { // every whole group from g on
                int g1 = to / n;
                Q8GroupStreams.dotGroups(p, g, g1, a.xq, a.xd, cols, out, outOff + r0 - from);
                g = g1 - 1;
            } else if (r0 >= from && r0 + n <= to) {
                if (a != null) dotQ8_0GroupQ8(p, q, sc, a.xq, a.xd, cols, out, outOff + r0 - from);
                else dotQ8_0Group(p, q, sc, x, xOff, cols, out, outOff + r0 - from);
            } else {
                float[] tmp = GROUP_OUT.get();
                if (a != null) dotQ8_0GroupQ8(p, q, sc, a.xq, a.xd, cols, tmp, 0);
                else dotQ8_0Group(p, q, sc, x, xOff, cols, tmp, 0);
                int lo = Math.max(from, r0), hi = Math.min(to, r0 + n);
                System.arraycopy(tmp, lo - r0, out, outOff + lo - from, hi - lo);
            }
        }
    }

    /** L bytes at {@code off}, widened to int lanes with their unsigned values. */
    private static IntVector bytesU(MemorySegment s, long off) {
        return ((IntVector) ByteVector.fromMemorySegment(BL, s, off, LE).castShape(I, 0)).and(IntVector.broadcast(I, 0xFF));
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.castShape(F, 0);
    }

    static float dotQ4_0(MemorySegment s, long off, float[] x, int xOff, int n) {
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        int c = 0;
        for (; c + 64 <= n; c += 64, off += 36) {
            total0 = q4Block(s, off, x, xOff + c).fma(FloatVector.broadcast(F, Quants.f16(s, off)), total0);
            total1 = q4Block(s, off + 18, x, xOff + c + 32).fma(FloatVector.broadcast(F, Quants.f16(s, off + 18)), total1);
        }
        for (; c < n; c += 32, off += 18) {
            total0 = q4Block(s, off, x, xOff + c).fma(FloatVector.broadcast(F, Quants.f16(s, off)), total0);
        }
        return Lanes.sum(total0.add(total1));
    }

    /** Sum of the 32 products of one Q4_0 block (without its scale), as L lanes. */
    private static FloatVector q4Block(MemorySegment s, long off, float[] x, int xOff) {
        FloatVector a = FloatVector.zero(F), c = a;
        IntVector low = IntVector.broadcast(I, 15), eight = IntVector.broadcast(I, 8);
        for (int g = 0; g < 16; g += L) { // L bytes: low nibbles are values g.., high nibbles values 16 + g..
            IntVector b = bytesU(s, off + 2 + g);
            a = toFloat(b.and(low).sub(eight)).fma(FloatVector.fromArray(F, x, xOff + g), a);
            c = toFloat(b.lanewise(VectorOperators.LSHR, 4).sub(eight)).fma(FloatVector.fromArray(F, x, xOff + 16 + g), c);
        }
        return a.add(c);
    }

    /**
     * Q4_K row . x. The 12 bytes of 6-bit scales and mins of a block are read once, as a long and an int, and unpacked
     * four at a time with masks and shifts (reading them byte by byte through the segment in the inner loop cost more
     * than the arithmetic: RowThroughput 3.8 -> 5.5 GB/s for reading them once, 6.9 for unpacking them without branches).
     */
    static float dotQ4_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        return L == 16 ? dotQ4_K16(s, off, x, xOff, n) : dotQ4_K8(s, off, x, xOff, n);
    }

    /** Q4_K scale bytes -> 16 int lanes: lane k < 8 reads byte A[k] (and B[k] for its two high bits), as below. */
    private static final VectorShuffle<Integer> Q4K_A = VectorShuffle.fromValues(IntVector.SPECIES_512, 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11);
    private static final VectorShuffle<Integer> Q4K_B = VectorShuffle.fromValues(IntVector.SPECIES_512, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7);
    private static final IntVector Q4K_SHIFT = IntVector.fromArray(IntVector.SPECIES_512, new int[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4}, 0);
    private static final IntVector Q4K_LOW = IntVector.fromArray(IntVector.SPECIES_512, new int[]{63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15}, 0);
    private static final IntVector Q4K_HIGH = IntVector.fromArray(IntVector.SPECIES_512, new int[]{0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48}, 0);
    private static final VectorMask<Float> UPPER_8 = VectorMask.fromLong(FloatVector.SPECIES_512, 0xFF00L);
    /** Per-thread [16]: d * scale of sub-blocks 0..7, then -dmin * min of sub-blocks 0..7, of the current block. */
    private static final ThreadLocal<float[]> Q4K_SCALES = ThreadLocal.withInitial(() -> new float[16]);

    /**
     * Q4_K row . x with 16 lanes. The 12 bytes of 6-bit scales and mins of a block are unpacked in int lanes at once
     * (lane k < 8: scale k, lane 8 + k: min k; {@link Quants#q4kScale}/{@link Quants#q4kMin} as shuffles, shifts and
     * masks), converted and multiplied by d / -dmin in one step; unpacking them with scalar code cost as much as the
     * products (a scratch benchmark without any scale ran 2x faster). Each group of 16 values is dequantized with one FMA
     * ({@code q * d_j - dmin * m_j}) and multiplied into one of 4 accumulators. Scratch benchmark, 2048 x 2048, best of
     * 150, load 8: 6.7-7.0 GB/s before, 9.0-9.4 after.
     */
    static float dotQ4_K16(MemorySegment s, long off, float[] x, int xOff, int n) {
        float[] ks = Q4K_SCALES.get();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        IntVector low = IntVector.broadcast(I, 15);
        for (int c = 0; c < n; c += 256, off += 144) {
            q4kScales(s, off, ks);
            for (int j = 0; j < 4; j++) { // 32 bytes: low nibbles are values 64j .. 64j + 31, high nibbles 64j + 32 ..
                int base = xOff + c + 64 * j;
                FloatVector d0 = FloatVector.broadcast(F, ks[2 * j]), d1 = FloatVector.broadcast(F, ks[2 * j + 1]);
                FloatVector m0 = FloatVector.broadcast(F, ks[8 + 2 * j]), m1 = FloatVector.broadcast(F, ks[9 + 2 * j]);
                IntVector q = (IntVector) ByteVector.fromMemorySegment(BL, s, off + 16 + 32L * j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector q2 = (IntVector) ByteVector.fromMemorySegment(BL, s, off + 32 + 32L * j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                // (casts written out: through the toFloat helper C2 did not inline it here and boxed every vector)
                a0 = ((FloatVector) q.and(low).castShape(F, 0)).fma(d0, m0).fma(FloatVector.fromArray(F, x, base), a0);
                a1 = ((FloatVector) q2.and(low).castShape(F, 0)).fma(d0, m0).fma(FloatVector.fromArray(F, x, base + 16), a1);
                a2 = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).castShape(F, 0)).fma(d1, m1).fma(FloatVector.fromArray(F, x, base + 32), a2);
                a3 = ((FloatVector) q2.lanewise(VectorOperators.LSHR, 4).castShape(F, 0)).fma(d1, m1).fma(FloatVector.fromArray(F, x, base + 48), a3);
            }
        }
        return Lanes.sum(a0.add(a1).add(a2.add(a3)));
    }

    @Override
    public void dotRows(Weights w, int from, int to, float[] x, int xOff, float[] out, int outOff) {
        if (w.type() == dev.nexusquant.engine.gguf.GgmlType.F16 && w.packed() != null && dotF16Rows(w, from, to, x, xOff, out, outOff)) {
            return;
        }
        if (w.type() == dev.nexusquant.engine.gguf.GgmlType.Q8_0 && w.packed() != null) {
            dotQ8_0Groups(w, from, to, x, xOff, out, outOff);
            return;
        }
        if (w.type() == dev.nexusquant.engine.gguf.GgmlType.Q4_K && L == 16) {
            int cols = w.cols();
            MemorySegment p = w.packed();
            if (p != null) {
                dotKGroups(w, from, to, Q4K_ACTIVATIONS.get().prepareGroups(x, xOff, cols), Q4K_GROUP, out, outOff);
                return;
            }
            Q4kActivations a = Q4K_ACTIVATIONS.get().prepare(x, xOff, cols);
            MemorySegment s = w.data();
            for (int r = from; r < to; r++) out[outOff + r - from] = dotQ4_KPrepared(s, w.rowOffset(r), a.perm, a.sums, cols);
            return;
        }
        if (w.type() == dev.nexusquant.engine.gguf.GgmlType.Q6_K && w.packed() != null) {
            dotKGroups(w, from, to, Q4K_ACTIVATIONS.get().prepareGroups(x, xOff, w.cols()), Q6K_GROUP, out, outOff);
            return;
        }
        for (int r = from; r < to; r++) out[outOff + r - from] = dotRow(w, r, x, xOff);
    }

    private static final ThreadLocal<Q4kActivations> Q4K_ACTIVATIONS = ThreadLocal.withInitial(Q4kActivations::new);

    /** Per-thread [16]: the outputs of a group that a range of rows cuts. */
    private static final ThreadLocal<float[]> GROUP_OUT = ThreadLocal.withInitial(() -> new float[GroupedRows.ROWS]);

    /**
     * One group of 16 rows of a grouped k-quant matrix dotted with the prepared x: {@code out[o .. o + 15]} = rows
     * {@code 16g .. 16g + 15} (padding rows 0); {@link #pair}: two whole groups in one loop ({@link KGroupStreams}).
     */
    private interface KGroupKernel {
        void group(MemorySegment p, int g, int rows, int cols, Q4kActivations a, float[] out, int o);

        void pair(MemorySegment p, int g, int g1, int rows, int cols, Q4kActivations a, float[] out, int o, int o1);
    }

    /** {@link Q4kGroups}: the products, then the mins' part. */
    private static final KGroupKernel Q4K_GROUP = new KGroupKernel() {
        @Override
        public void group(MemorySegment p, int g, int rows, int cols, Q4kActivations a, float[] out, int o) {
            long m = Q4kGroups.meta(g, rows, cols);
            dotQ4_KGroup(p, Q4kGroups.quants(g, cols), m, a.xq, a.xd, cols, out, o);
            minsQ4_KGroup(p, m, a.st, cols, out, o);
        }

        @Override
        public void pair(MemorySegment p, int g, int g1, int rows, int cols, Q4kActivations a, float[] out, int o, int o1) {
            long m = Q4kGroups.meta(g, rows, cols), m1 = Q4kGroups.meta(g1, rows, cols);
            KGroupStreams.dotQ4_KPair(p, Q4kGroups.quants(g, cols), m, Q4kGroups.quants(g1, cols), m1, a.xq, a.xd, cols, out, o, o1);
            minsQ4_KGroup(p, m, a.st, cols, out, o);
            minsQ4_KGroup(p, m1, a.st, cols, out, o1);
        }
    };

    /** {@link Q6kGroups}. */
    private static final KGroupKernel Q6K_GROUP = new KGroupKernel() {
        @Override
        public void group(MemorySegment p, int g, int rows, int cols, Q4kActivations a, float[] out, int o) {
            dotQ6_KGroup(p, Q6kGroups.quants(g, cols), Q6kGroups.meta(g, rows, cols), a.xq, a.xd, cols, out, o);
        }

        @Override
        public void pair(MemorySegment p, int g, int g1, int rows, int cols, Q4kActivations a, float[] out, int o, int o1) {
            KGroupStreams.dotQ6_KPair(p, Q6kGroups.quants(g, cols), Q6kGroups.meta(g, rows, cols), Q6kGroups.quants(g1, cols),
                    Q6kGroups.meta(g1, rows, cols), a.xq, a.xd, cols, out, o, o1);
        }
    };

    /**
     * Rows {@code from .. to - 1} of a grouped k-quant matrix ({@link Q4kGroups}, {@link Q6kGroups}) by {@code kernel}:
     * whole groups straight into {@code out} (with {@link KGroupStreams#SPLIT}, group g paired with the group half of the
     * whole groups further), cut ones through a scratch.
     */
    private static void dotKGroups(Weights w, int from, int to, Q4kActivations a, KGroupKernel kernel, float[] out, int outOff) {
        int cols = w.cols(), rows = w.rows(), n = GroupedRows.ROWS;
        MemorySegment p = w.packed();
        for (int g = from / n; g * n < to; g++) {
            int r0 = g * n;
            if (r0 >= from && r0 + n <= to) {
                int g1 = to / n; // whole groups g .. g1 - 1
                if (KGroupStreams.SPLIT) {
                    int half = (g1 - g) / 2;
                    for (int i = 0; i < half; i++) {
                        kernel.pair(p, g + i, g + i + half, rows, cols, a, out, outOff + n * (g + i) - from, outOff + n * (g + i + half) - from);
                    }
                    g += 2 * half;
                }
                for (; g < g1; g++) kernel.group(p, g, rows, cols, a, out, outOff + n * g - from);
                g = g1 - 1;
            } else {
                float[] tmp = GROUP_OUT.get();
                kernel.group(p, g, rows, cols, a, tmp, 0);
                int lo = Math.max(from, r0), hi = Math.min(to, r0 + n);
                System.arraycopy(tmp, lo - r0, out, outOff + lo - from, hi - lo);
            }
        }
    }

    /** Lane i < 8 takes lane {@code a} of a vector, lane 8 + i lane {@code a + 2}: the scales of two sub-blocks. */
    private static VectorShuffle<Float> pairOf(int a) {
        return VectorShuffle.fromOp(FloatVector.SPECIES_512, i -> i < 8 ? a : a + 2);
    }

    private static final VectorShuffle<Float> SUB_0_2 = pairOf(0), SUB_1_3 = pairOf(1), SUB_4_6 = pairOf(4), SUB_5_7 = pairOf(5);

    /**
     * Q4_K row . x with 16 lanes and the activations rearranged once for all rows ({@link Q4kActivations}): the 128
     * quant bytes of a block are loaded as two vectors of 16 ints, and each of the 8 nibbles of every int is taken with
     * one shift and one mask (no widening shuffle per 16 values, as {@link #dotQ4_K16} has). Nibble {@code k} of the first
     * vector holds values of sub-blocks 0 and 2 (k even) or 1 and 3 (k odd) in its lower and upper 8 lanes, so the
     * products of the even and of the odd nibbles are summed apart and multiplied by a vector of their two sub-blocks'
     * scales (a lane shuffle of the unpacked scales). The mins are applied once per block as {@code -dmin * min_j} times
     * the sum of x over sub-block j ({@link Q4kActivations#sums}).
     *
     * @param xp   [cols] x rearranged by {@link Q4kActivations#prepare}
     * @param sums [cols / 16] its sub-block sums
     */
    static float dotQ4_KPrepared(MemorySegment s, long off, float[] xp, float[] sums, int n) {
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0, mins = t0;
        IntVector low = IntVector.broadcast(I, 15);
        for (int c = 0; c < n; c += 256, off += 144) {
            float d = Quants.f16(s, off), dmin = Quants.f16(s, off + 2);
            IntVector b = (IntVector) ByteVector.fromMemorySegment(B16, s, off + 4, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            IntVector lowBits = b.rearrange(Q4K_A).lanewise(VectorOperators.LSHR, Q4K_SHIFT).and(Q4K_LOW);
            IntVector highBits = b.rearrange(Q4K_B).lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4).and(Q4K_HIGH);
            // lanes 0..7: d * scale_j; lanes 8..15: -dmin * min_j
            FloatVector sc = ((FloatVector) lowBits.or(highBits).castShape(F, 0)).mul(FloatVector.broadcast(F, d).blend(-dmin, UPPER_8));
            mins = sc.fma(FloatVector.fromArray(F, sums, c >> 4), mins);
            IntVector v = IntVector.fromMemorySegment(I, s, off + 16, LE);
            FloatVector even = ((FloatVector) v.and(low).castShape(F, 0)).mul(FloatVector.fromArray(F, xp, c));
            FloatVector odd = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(low).castShape(F, 0)).mul(FloatVector.fromArray(F, xp, c + 16));
            even = ((FloatVector) v.lanewise(VectorOperators.LSHR, 8).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 32), even);
            odd = ((FloatVector) v.lanewise(VectorOperators.LSHR, 12).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 48), odd);
            even = ((FloatVector) v.lanewise(VectorOperators.LSHR, 16).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 64), even);
            odd = ((FloatVector) v.lanewise(VectorOperators.LSHR, 20).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 80), odd);
            even = ((FloatVector) v.lanewise(VectorOperators.LSHR, 24).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 96), even);
            odd = ((FloatVector) v.lanewise(VectorOperators.LSHR, 28).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 112), odd);
            t0 = even.fma(sc.rearrange(SUB_0_2), t0);
            t1 = odd.fma(sc.rearrange(SUB_1_3), t1);
            IntVector u = IntVector.fromMemorySegment(I, s, off + 80, LE);
            even = ((FloatVector) u.and(low).castShape(F, 0)).mul(FloatVector.fromArray(F, xp, c + 128));
            odd = ((FloatVector) u.lanewise(VectorOperators.LSHR, 4).and(low).castShape(F, 0)).mul(FloatVector.fromArray(F, xp, c + 144));
            even = ((FloatVector) u.lanewise(VectorOperators.LSHR, 8).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 160), even);
            odd = ((FloatVector) u.lanewise(VectorOperators.LSHR, 12).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 176), odd);
            even = ((FloatVector) u.lanewise(VectorOperators.LSHR, 16).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 192), even);
            odd = ((FloatVector) u.lanewise(VectorOperators.LSHR, 20).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 208), odd);
            even = ((FloatVector) u.lanewise(VectorOperators.LSHR, 24).and(low).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 224), even);
            odd = ((FloatVector) u.lanewise(VectorOperators.LSHR, 28).castShape(F, 0)).fma(FloatVector.fromArray(F, xp, c + 240), odd);
            t2 = even.fma(sc.rearrange(SUB_4_6), t2);
            t3 = odd.fma(sc.rearrange(SUB_5_7), t3);
        }
        // Lanes.sum written out: as a call, C2 reached its inlining node limit here and boxed the vector of every row
        FloatVector t = t0.add(t1).add(t2.add(t3)).add(mins);
        FloatVector s8 = ((FloatVector) t.reinterpretShape(FloatVector.SPECIES_256, 0)).add((FloatVector) t.reinterpretShape(FloatVector.SPECIES_256, 1));
        FloatVector s4 = ((FloatVector) s8.reinterpretShape(FloatVector.SPECIES_128, 0)).add((FloatVector) s8.reinterpretShape(FloatVector.SPECIES_128, 1));
        return (s4.lane(0) + s4.lane(2)) + (s4.lane(1) + s4.lane(3));
    }

    /** 32 lanes of 16 bits: the grouped Q4_K kernel's products. */
    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;

    /**
     * 16 rows of a grouped Q4_K matrix ({@link Q4kGroups}) dotted with x quantized to 8 bits, without the mins' part:
     * {@code out[o + i]} = row {@code i} of the group (one row per lane) before {@link #minsQ4_KGroup}. Each 64-byte load
     * is read as 32 lanes of 16 bits, lane {@code 2i} holding nibbles 0..3 of row i's 4 bytes and lane {@code 2i + 1}
     * nibbles 4..7; nibble {@code k} of every lane is taken with a shift and a mask and multiplied in 16 bits by a pair
     * of 8-bit activations (one int of {@link Q4kActivations#xq}, broadcast: its two halves fall on the two lanes of a
     * row), 32 values per multiply where a float kernel takes 16. Even nibbles belong to sub-block 2g, odd ones to 2g + 1;
     * the 16 products a lane sums per sub-block stay within 16 bits (|15 * 127 * 16| = 30480), then the two lanes of a
     * row are added as ints, converted to float (exact) and multiplied by the row's 6-bit scale, and each block's sum by
     * {@code d * xd}. The integer sums are exact; the scalar twin {@link ScalarKernels#dotQ4_KGroupQ8} does the same float
     * operations in the same order, so the same bits.
     *
     * @param q  byte offset of the group's quants in {@code p}
     * @param m  byte offset of its metadata
     * @param xq [cols / 2] x in 8 bits, in pairs ({@link Q4kActivations#xq})
     * @param xd [cols / 256] the step of each block's 8-bit x
     */
    static void dotQ4_KGroup(MemorySegment p, long q, long m, int[] xq, float[] xd, int n, float[] out, int o) {
        FloatVector total = FloatVector.zero(F);
        ShortVector low = ShortVector.broadcast(S32, (short) 15);
        IntVector bytes = IntVector.broadcast(I, 0xFF);
        for (int c = 0; c < n; c += 256, q += Q4kGroups.QUANTS, m += Q4kGroups.META) {
            FloatVector blk = FloatVector.zero(F);
            for (int g = 0; g < 4; g++) { // quant bytes 32g .. 32g + 31: sub-blocks 2g (even nibbles) and 2g + 1
                ShortVector e = ShortVector.zero(S32), od = e, e2 = e, od2 = e;
                for (int ch = 8 * g; ch < 8 * g + 8; ch += 2) {
                    int xi = (c >> 1) + 4 * ch;
                    ShortVector v = ShortVector.fromMemorySegment(S32, p, q + 64L * ch, LE), u = ShortVector.fromMemorySegment(S32, p, q + 64L * ch + 64, LE);
                    e = v.and(low).mul(IntVector.broadcast(I, xq[xi]).reinterpretAsShorts()).add(e);
                    od = v.lanewise(VectorOperators.LSHR, 4).and(low).mul(IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts()).add(od);
                    e2 = u.and(low).mul(IntVector.broadcast(I, xq[xi + 4]).reinterpretAsShorts()).add(e2);
                    od2 = u.lanewise(VectorOperators.LSHR, 4).and(low).mul(IntVector.broadcast(I, xq[xi + 5]).reinterpretAsShorts()).add(od2);
                    e = v.lanewise(VectorOperators.LSHR, 8).and(low).mul(IntVector.broadcast(I, xq[xi + 2]).reinterpretAsShorts()).add(e);
                    od = v.lanewise(VectorOperators.LSHR, 12).mul(IntVector.broadcast(I, xq[xi + 3]).reinterpretAsShorts()).add(od);
                    e2 = u.lanewise(VectorOperators.LSHR, 8).and(low).mul(IntVector.broadcast(I, xq[xi + 6]).reinterpretAsShorts()).add(e2);
                    od2 = u.lanewise(VectorOperators.LSHR, 12).mul(IntVector.broadcast(I, xq[xi + 7]).reinterpretAsShorts()).add(od2);
                }
                IntVector ei = e.add(e2).reinterpretAsInts(), oi = od.add(od2).reinterpretAsInts(); // |sum| <= 16 * 15 * 127
                IntVector se = ei.lanewise(VectorOperators.ASHR, 16).add(ei.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector so = oi.lanewise(VectorOperators.ASHR, 16).add(oi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE); // per row: scale 2g, 2g + 1, min 2g, 2g + 1
                blk = ((FloatVector) se.castShape(F, 0)).fma((FloatVector) sm.and(bytes).castShape(F, 0), blk);
                blk = ((FloatVector) so.castShape(F, 0)).fma((FloatVector) sm.lanewise(VectorOperators.LSHR, 8).and(bytes).castShape(F, 0), blk);
            }
            total = blk.mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m + 256, LE), total);
        }
        total.intoArray(out, o);
    }

    /**
     * Adds the mins' part of 16 grouped Q4_K rows to {@code out[o .. o + 15]}: {@code -dmin * sum_j min_j * sum(x over
     * sub-block j)} per block. A method of its own: with it inside {@link #dotQ4_KGroup}, some processes' C2 code of
     * that kernel ran its last vector operations (these) in the Vector API's Java fallback (JFR allocation samples at
     * the mins' lines, 32-51 collections per EngineBench run against 13-16).
     */
    static void minsQ4_KGroup(MemorySegment p, long m, float[] st, int n, float[] out, int o) {
        FloatVector total = FloatVector.fromArray(F, out, o);
        IntVector bytes = IntVector.broadcast(I, 0xFF);
        for (int c = 0; c < n; c += 256, m += Q4kGroups.META) {
            FloatVector mn = FloatVector.zero(F);
            for (int g = 0; g < 4; g++) {
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE);
                mn = ((FloatVector) sm.lanewise(VectorOperators.LSHR, 16).and(bytes).castShape(F, 0)).fma(FloatVector.broadcast(F, st[(c >> 5) + 2 * g]), mn);
                mn = ((FloatVector) sm.lanewise(VectorOperators.LSHR, 24).castShape(F, 0)).fma(FloatVector.broadcast(F, st[(c >> 5) + 2 * g + 1]), mn);
            }
            total = mn.fma(FloatVector.fromMemorySegment(F, p, m + 320, LE), total);
        }
        total.intoArray(out, o);
    }

    /**
     * 16 rows of a grouped Q6_K matrix ({@link Q6kGroups}) dotted with x quantized to 8 bits ({@link Q4kActivations#xq},
     * the same pairs as the Q4_K kernel's: the low 4 bits of the values sit where Q4_K's nibbles do): {@code out[o + i]} =
     * row {@code i} of the group. Each 64-byte load of low bits is read as 32 lanes of 16 bits (lane {@code 2i}: nibbles
     * 0..3 of row i's int, lane {@code 2i + 1}: nibbles 4..7); nibble {@code k} is taken with a shift and a mask, its 2
     * high bits from the pair's third load with a shift and a mask (already at bits 4..5), the two or-ed and offset by
     * -32 (values -32..31), and multiplied in 16 bits by a broadcast pair of 8-bit x. Even nibbles of chunks 8g .. 8g + 3
     * belong to sub-block 4g, odd ones to 4g + 2; of chunks 8g + 4 .. 8g + 7 to 4g + 1 and 4g + 3: a lane sums 8 products
     * per sub-block, within 16 bits (8 * 32 * 127 = 32512). The two lanes of a row are added as ints, multiplied by the
     * row's int8 scale and summed per block in ints (exact), then converted and scaled by {@code xd * d}. The scalar
     * twin {@link ScalarKernels#dotQ6_KGroupQ8} does the same float operations in the same order, so the same bits.
     *
     * @param q  byte offset of the group's quants in {@code p}
     * @param m  byte offset of its metadata
     * @param xq [cols / 2] x in 8 bits, in pairs ({@link Q4kActivations#xq})
     * @param xd [cols / 256] the step of each block's 8-bit x
     */
    static void dotQ6_KGroup(MemorySegment p, long q, long m, int[] xq, float[] xd, int n, float[] out, int o) {
        FloatVector total = FloatVector.zero(F);
        ShortVector low = ShortVector.broadcast(S32, (short) 15), high = ShortVector.broadcast(S32, (short) 0x30);
        ShortVector bias = ShortVector.broadcast(S32, (short) 32);
        for (int c = 0; c < n; c += 256, q += Q6kGroups.QUANTS, m += Q6kGroups.META) {
            IntVector blk = IntVector.zero(I);
            for (int g = 0; g < 4; g++) {
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE); // per row: scales of sub-blocks 4g .. 4g + 3
                for (int hh = 0; hh < 2; hh++) { // chunks 8g + 4hh .. 8g + 4hh + 3: sub-blocks 4g + hh (even), 4g + 2 + hh (odd)
                    ShortVector e = ShortVector.zero(S32), od = e;
                    for (int pr = 4 * g + 2 * hh; pr < 4 * g + 2 * hh + 2; pr++) {
                        long at = q + (long) Q6kGroups.PAIR * pr;
                        int xi = (c >> 1) + 8 * pr; // chunk 2pr's pairs; chunk 2pr + 1's at xi + 4
                        ShortVector v = ShortVector.fromMemorySegment(S32, p, at, LE), u = ShortVector.fromMemorySegment(S32, p, at + 64, LE);
                        ShortVector h = ShortVector.fromMemorySegment(S32, p, at + 128, LE);
                        // high bits of nibble j: chunk 2pr at bit 2j, chunk 2pr + 1 at bit 8 + 2j (Q6kGroups.highBit)
                        e = v.and(low).or(h.lanewise(VectorOperators.LSHL, 4).and(high)).sub(bias).mul(IntVector.broadcast(I, xq[xi]).reinterpretAsShorts()).add(e);
                        od = v.lanewise(VectorOperators.LSHR, 4).and(low).or(h.lanewise(VectorOperators.LSHL, 2).and(high)).sub(bias)
                                .mul(IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts()).add(od);
                        e = v.lanewise(VectorOperators.LSHR, 8).and(low).or(h.and(high)).sub(bias).mul(IntVector.broadcast(I, xq[xi + 2]).reinterpretAsShorts()).add(e);
                        od = v.lanewise(VectorOperators.LSHR, 12).or(h.lanewise(VectorOperators.LSHR, 2).and(high)).sub(bias)
                                .mul(IntVector.broadcast(I, xq[xi + 3]).reinterpretAsShorts()).add(od);
                        e = u.and(low).or(h.lanewise(VectorOperators.LSHR, 4).and(high)).sub(bias).mul(IntVector.broadcast(I, xq[xi + 4]).reinterpretAsShorts()).add(e);
                        od = u.lanewise(VectorOperators.LSHR, 4).and(low).or(h.lanewise(VectorOperators.LSHR, 6).and(high)).sub(bias)
                                .mul(IntVector.broadcast(I, xq[xi + 5]).reinterpretAsShorts()).add(od);
                        e = u.lanewise(VectorOperators.LSHR, 8).and(low).or(h.lanewise(VectorOperators.LSHR, 8).and(high)).sub(bias)
                                .mul(IntVector.broadcast(I, xq[xi + 6]).reinterpretAsShorts()).add(e);
                        od = u.lanewise(VectorOperators.LSHR, 12).or(h.lanewise(VectorOperators.LSHR, 10).and(high)).sub(bias)
                                .mul(IntVector.broadcast(I, xq[xi + 7]).reinterpretAsShorts()).add(od);
                    }
                    IntVector ei = e.reinterpretAsInts(), oi = od.reinterpretAsInts(); // |sum| <= 8 * 32 * 127 per 16-bit lane
                    IntVector se = ei.lanewise(VectorOperators.ASHR, 16).add(ei.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    IntVector so = oi.lanewise(VectorOperators.ASHR, 16).add(oi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    // int8 scales: byte hh (sub-block 4g + hh) and byte 2 + hh (4g + 2 + hh), sign-extended
                    blk = se.mul(sm.lanewise(VectorOperators.LSHL, 24 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk);
                    blk = so.mul(sm.lanewise(VectorOperators.LSHL, 8 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk);
                }
            }
            total = ((FloatVector) blk.castShape(F, 0)).mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m + 256, LE), total);
        }
        total.intoArray(out, o);
    }

    /**
     * Writes {@code ks[k] = d * scale_k}, {@code ks[8 + k] = -dmin * min_k} (k < 8) of the Q4_K block at {@code off}. A
     * method of its own, so that the kernel stays small enough for C2 to compile every vector operation as such (in
     * one method, part of them ran the Vector API's Java fallback: 2.3 GB/s); no vector crosses the call.
     */
    private static void q4kScales(MemorySegment s, long off, float[] ks) {
        float d = Quants.f16(s, off), dmin = Quants.f16(s, off + 2);
        // bytes 4..19 of the block (12 scale bytes, then 4 quant bytes that no lane uses)
        IntVector b = (IntVector) ByteVector.fromMemorySegment(B16, s, off + 4, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
        IntVector lowBits = b.rearrange(Q4K_A).lanewise(VectorOperators.LSHR, Q4K_SHIFT).and(Q4K_LOW);
        IntVector highBits = b.rearrange(Q4K_B).lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4).and(Q4K_HIGH);
        ((FloatVector) lowBits.or(highBits).castShape(F, 0)).mul(FloatVector.broadcast(F, d).blend(-dmin, UPPER_8)).intoArray(ks, 0);
    }

    /** Q4_K row . x with 8 lanes (AVX2). */
    static float dotQ4_K8(MemorySegment s, long off, float[] x, int xOff, int n) {
        // per sub-block pair j: qx0/qx1 = sum q * x, xs0/xs1 = sum x (for the mins); short chains, 6 totals
        FloatVector total = FloatVector.zero(F), total1 = total, min0 = total, min1 = total;
        IntVector low = IntVector.broadcast(I, 15);
        for (int c = 0; c < n; c += 256, off += 144) {
            float d = Quants.f16(s, off), dmin = Quants.f16(s, off + 2);
            // the 8 scales and 8 mins, 6 bits each, unpacked four at a time as the bytes of an int (Quants.q4kScale/q4kMin)
            long lo = s.get(I64, off + 4);
            int hi = s.get(I32, off + 12), lo0 = (int) lo, lo1 = (int) (lo >>> 32);
            int scA = lo0 & 0x3F3F3F3F, mA = lo1 & 0x3F3F3F3F;
            int scB = (hi & 0x0F0F0F0F) | ((lo0 & 0xC0C0C0C0) >>> 2), mB = ((hi >>> 4) & 0x0F0F0F0F) | ((lo1 & 0xC0C0C0C0) >>> 2);
            for (int j = 0; j < 4; j++) {
                int sc = j < 2 ? scA : scB, mn = j < 2 ? mA : mB, shift = 16 * (j & 1);
                float d0 = d * ((sc >>> shift) & 0xFF), d1 = d * ((sc >>> (shift + 8)) & 0xFF);
                float n0 = dmin * ((mn >>> shift) & 0xFF), n1 = dmin * ((mn >>> (shift + 8)) & 0xFF);
                FloatVector qx0 = FloatVector.zero(F), qx1 = qx0, xs0 = qx0, xs1 = qx0;
                int base = xOff + c + 64 * j;
                for (int g = 0; g < 32; g += L) { // L bytes: low nibbles are values 64j + g.., high nibbles 64j + 32 + g..
                    IntVector b = (IntVector) ByteVector.fromMemorySegment(BL, s, off + 16 + 32L * j + g, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    FloatVector x0 = FloatVector.fromArray(F, x, base + g);
                    FloatVector x1 = FloatVector.fromArray(F, x, base + 32 + g);
                    qx0 = toFloat(b.and(low)).fma(x0, qx0);
                    qx1 = toFloat(b.lanewise(VectorOperators.LSHR, 4)).fma(x1, qx1);
                    xs0 = xs0.add(x0);
                    xs1 = xs1.add(x1);
                }
                total = qx0.fma(FloatVector.broadcast(F, d0), total);
                total1 = qx1.fma(FloatVector.broadcast(F, d1), total1);
                min0 = xs0.fma(FloatVector.broadcast(F, n0), min0);
                min1 = xs1.fma(FloatVector.broadcast(F, n1), min1);
            }
        }
        return Lanes.sum(total.add(total1).sub(min0.add(min1)));
    }

    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    /**
     * Q6_K row . x, decoded in int lanes: for each half block of 128 values, L bytes of {@code ql[l]}, {@code ql[l + 32]}
     * and {@code qh[l]} give the 6-bit values {@code l}, {@code l + 32}, {@code l + 64} and {@code l + 96} (low nibble or
     * high nibble of ql, two bits of qh each), minus 32; each group of 16 values has one int8 scale, so the L products of a
     * group are summed in float lanes and added to the total with {@code d * scale} (4 chains of accumulation).
     */
    static float dotQ6_K(MemorySegment s, long off, float[] x, int xOff, int n) {
        IntVector bytes = IntVector.broadcast(I, 0xFF), low = IntVector.broadcast(I, 15), bias = IntVector.broadcast(I, 32);
        IntVector m3 = IntVector.broadcast(I, 3), m12 = IntVector.broadcast(I, 12), m48 = IntVector.broadcast(I, 48), m192 = IntVector.broadcast(I, 192);
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int c = 0; c < n; c += 256, off += 210) {
            float d = Quants.f16(s, off + 208);
            for (int half = 0; half < 2; half++) {
                long ql = off + 64 * half, qh = off + 128 + 32 * half, sc = off + 192 + 8 * half;
                int y = xOff + c + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    IntVector a = ((IntVector) ByteVector.fromMemorySegment(BL, s, ql + l, LE).castShape(I, 0)).and(bytes);
                    IntVector b = ((IntVector) ByteVector.fromMemorySegment(BL, s, ql + 32 + l, LE).castShape(I, 0)).and(bytes);
                    IntVector h = ((IntVector) ByteVector.fromMemorySegment(BL, s, qh + l, LE).castShape(I, 0)).and(bytes);
                    int is = l >> 4;
                    IntVector q1 = a.and(low).or(h.and(m3).lanewise(VectorOperators.LSHL, 4)).sub(bias);
                    IntVector q2 = b.and(low).or(h.and(m12).lanewise(VectorOperators.LSHL, 2)).sub(bias);
                    IntVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(h.and(m48)).sub(bias);
                    IntVector q4 = b.lanewise(VectorOperators.LSHR, 4).or(h.and(m192).lanewise(VectorOperators.LSHR, 2)).sub(bias);
                    FloatVector p1 = ((FloatVector) q1.castShape(F, 0)).mul(FloatVector.fromArray(F, x, y + l));
                    FloatVector p2 = ((FloatVector) q2.castShape(F, 0)).mul(FloatVector.fromArray(F, x, y + l + 32));
                    FloatVector p3 = ((FloatVector) q3.castShape(F, 0)).mul(FloatVector.fromArray(F, x, y + l + 64));
                    FloatVector p4 = ((FloatVector) q4.castShape(F, 0)).mul(FloatVector.fromArray(F, x, y + l + 96));
                    acc0 = p1.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is)), acc0);
                    acc1 = p2.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2)), acc1);
                    acc2 = p3.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4)), acc2);
                    acc3 = p4.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6)), acc3);
                }
            }
        }
        return Lanes.sum(acc0.add(acc1).add(acc2.add(acc3)));
    }

    /** Q4_K rows to floats, {@code dst = d * scale * q - dmin * min} per sub-block of 32 (the definition's operations). */
    private static void dequantizeQ4_K(MemorySegment s, long off, float[] dst, int o, int n) {
        IntVector bytes = IntVector.broadcast(I, 0xFF), low = IntVector.broadcast(I, 15);
        for (int c = 0; c < n; c += 256, off += 144) {
            float d = Quants.f16(s, off), dmin = Quants.f16(s, off + 2);
            long scales = off + 4;
            for (int j = 0; j < 4; j++) {
                float d1 = d * Quants.q4kScale(s, scales, 2 * j), m1 = dmin * Quants.q4kMin(s, scales, 2 * j);
                float d2 = d * Quants.q4kScale(s, scales, 2 * j + 1), m2 = dmin * Quants.q4kMin(s, scales, 2 * j + 1);
                int y = o + c + 64 * j;
                for (int g = 0; g < 32; g += L) {
                    IntVector b = ((IntVector) ByteVector.fromMemorySegment(BL, s, off + 16 + 32L * j + g, LE).castShape(I, 0)).and(bytes);
                    ((FloatVector) b.and(low).castShape(F, 0)).mul(FloatVector.broadcast(F, d1)).sub(FloatVector.broadcast(F, m1)).intoArray(dst, y + g);
                    ((FloatVector) b.lanewise(VectorOperators.LSHR, 4).castShape(F, 0)).mul(FloatVector.broadcast(F, d2)).sub(FloatVector.broadcast(F, m2)).intoArray(dst, y + 32 + g);
                }
            }
        }
    }

    /** Q6_K rows decoded as in {@link #dotQ6_K}, to floats: {@code dst[y] = d * scale * (q - 32)}. */
    private static void dequantizeQ6_K(MemorySegment s, long off, float[] dst, int o, int n) {
        IntVector bytes = IntVector.broadcast(I, 0xFF), low = IntVector.broadcast(I, 15), bias = IntVector.broadcast(I, 32);
        IntVector m3 = IntVector.broadcast(I, 3), m12 = IntVector.broadcast(I, 12), m48 = IntVector.broadcast(I, 48), m192 = IntVector.broadcast(I, 192);
        for (int c = 0; c < n; c += 256, off += 210) {
            float d = Quants.f16(s, off + 208);
            for (int half = 0; half < 2; half++) {
                long ql = off + 64 * half, qh = off + 128 + 32 * half, sc = off + 192 + 8 * half;
                int y = o + c + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    IntVector a = ((IntVector) ByteVector.fromMemorySegment(BL, s, ql + l, LE).castShape(I, 0)).and(bytes);
                    IntVector b = ((IntVector) ByteVector.fromMemorySegment(BL, s, ql + 32 + l, LE).castShape(I, 0)).and(bytes);
                    IntVector h = ((IntVector) ByteVector.fromMemorySegment(BL, s, qh + l, LE).castShape(I, 0)).and(bytes);
                    int is = l >> 4;
                    IntVector q1 = a.and(low).or(h.and(m3).lanewise(VectorOperators.LSHL, 4)).sub(bias);
                    IntVector q2 = b.and(low).or(h.and(m12).lanewise(VectorOperators.LSHL, 2)).sub(bias);
                    IntVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(h.and(m48)).sub(bias);
                    IntVector q4 = b.lanewise(VectorOperators.LSHR, 4).or(h.and(m192).lanewise(VectorOperators.LSHR, 2)).sub(bias);
                    ((FloatVector) q1.castShape(F, 0)).mul(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is))).intoArray(dst, y + l);
                    ((FloatVector) q2.castShape(F, 0)).mul(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2))).intoArray(dst, y + l + 32);
                    ((FloatVector) q3.castShape(F, 0)).mul(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4))).intoArray(dst, y + l + 64);
                    ((FloatVector) q4.castShape(F, 0)).mul(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6))).intoArray(dst, y + l + 96);
                }
            }
        }
    }

    @Override
    public void dequantizeRows(Weights w, int row, int count, float[] dst, int dstOff) {
        MemorySegment s = w.data();
        int cols = w.cols();
        for (int r = 0; r < count; r++) {
            long off = w.rowOffset(row + r);
            int o = dstOff + r * cols;
            switch (w.type()) {
                case F32 -> MemorySegment.copy(s, Quants.F32, off, dst, o, cols);
                case F16 -> {
                    short[] h = (short[]) HALF_SCRATCH.get()[0];
                    for (int c = 0; c < cols; c += HALF_PIECE) {
                        int m = Math.min(HALF_PIECE, cols - c);
                        MemorySegment.copy(s, I16, off + 2L * c, h, 0, m);
                        for (int i = 0; i < m; i++) dst[o + c + i] = Float.float16ToFloat(h[i]); // vcvtph2ps
                    }
                }
                case BF16 -> {
                    int i = 0;
                    for (int bound = F.loopBound(cols); i < bound; i += L) bfloats(s, off + 2L * i).intoArray(dst, o + i);
                    for (; i < cols; i++) dst[o + i] = Quants.bf16(s.get(I16, off + 2L * i));
                }
                case Q8_0 -> {
                    for (int c = 0; c < cols; c += 32, off += 34) { // L bytes at a time, widened in one step
                        FloatVector d = FloatVector.broadcast(F, Quants.f16(s, off));
                        for (int p = 0; p < 32; p += L) {
                            ((FloatVector) ByteVector.fromMemorySegment(BL, s, off + 2 + p, LE).castShape(F, 0)).mul(d).intoArray(dst, o + c + p);
                        }
                    }
                }
                case Q4_0 -> {
                    for (int c = 0; c < cols; c += 32, off += 18) {
                        ByteVector b = ByteVector.fromMemorySegment(B16, s, off + 2, LE);
                        ByteVector nib = ByteVector.broadcast(B16, (byte) 0x0F), eight = ByteVector.broadcast(B16, (byte) 8);
                        ByteVector lo = b.and(nib).sub(eight);
                        ByteVector hi = b.lanewise(VectorOperators.LSHR, 4).and(nib).sub(eight);
                        FloatVector d = FloatVector.broadcast(F, Quants.f16(s, off));
                        for (int p = 0; p < 16 / L; p++) {
                            ((FloatVector) lo.castShape(F, p)).mul(d).intoArray(dst, o + c + p * L);
                            ((FloatVector) hi.castShape(F, p)).mul(d).intoArray(dst, o + c + 16 + p * L);
                        }
                    }
                }
                case Q6_K -> dequantizeQ6_K(s, off, dst, o, cols);
                case Q4_K -> dequantizeQ4_K(s, off, dst, o, cols); // grouped rows ({@link Q4kGroups}) decode from the file
                default -> Quants.dequantize(w.type(), s, off, dst, o, cols);
            }
        }
    }


    // ---- packed panels (matrix x matrix) ----

    private static final float[] NO_ROWS = new float[0];

    /**
     * {@link Kernels#toPanel} with gathers: for each column, the values of 16 (or 8) rows are gathered into one vector
     * ({@code vgatherdps}) and stored where the panel wants them. The scalar loop read one float per iteration with a
     * stride of a row and took 40% of a 1B-shape prefill's samples (JFR) once the panel kernel took 32 rows.
     */
    @Override
    public void toPanel(float[] rows, int count, int cols, float[] panel) {
        if (count < PANEL || cols < 1) {
            ScalarKernels.INSTANCE.toPanel(rows, count, cols, panel);
            return;
        }
        int[] index = GATHER.get();
        if (index[1] != cols) {
            for (int i = 0; i < PANEL; i++) index[i] = i * cols; // index[1] == cols marks the table as built for cols
        }
        for (int c = 0, dst = 0; c < cols; c++, dst += PANEL) {
            for (int i = 0; i < PANEL; i += L) FloatVector.fromArray(F, rows, c, index, i).intoArray(panel, dst + i);
        }
    }

    /**
     * Grouped Q4_K rows ({@link Q4kGroups}) decode straight into the panel: each nibble of a 64-byte load is one column
     * of 16 rows, stored as one vector (no row-major buffer, no transposition, and the file's pages are not read); the
     * same operations as {@link #dequantizeQ4_K} ({@code q * (d * scale) - dmin * min}), so the same bits.
     */
    @Override
    public void panel(Weights w, int row, int count, float[] rows, float[] panel) {
        int n = Q4kGroups.ROWS; // = Q8Groups.ROWS
        boolean q4k = w.type() == dev.nexusquant.engine.gguf.GgmlType.Q4_K, q8 = w.type() == dev.nexusquant.engine.gguf.GgmlType.Q8_0;
        if (!(q4k || q8) || w.packed() == null || row % n != 0 || PANEL != 2 * n) {
            Kernels.super.panel(w, row, count, rows, panel);
            return;
        }
        int cols = w.cols(), g = row / n;
        for (int h = 0; h < 2 && h * n < count; h++) {
            if (q4k) panelQ4_KGroup(w.packed(), Q4kGroups.quants(g + h, cols), Q4kGroups.meta(g + h, w.rows(), cols), cols, panel, h * n);
            else panelQ8_0Group(w.packed(), Q8Groups.quants(g + h, cols), Q8Groups.scales(g + h, cols), cols, panel, h * n);
        }
        if (count < PANEL) { // rows past count are 0 (past the matrix's end the group's padding decodes to 0 already)
            for (int c = 0; c < cols; c++) java.util.Arrays.fill(panel, c * PANEL + count, (c + 1) * PANEL, 0f);
        }
    }

    /** The 16 rows of a Q8_0 group into lanes {@code lane0 .. lane0 + 15} of every column of {@code panel} ([cols][PANEL]): {@code q * d}. */
    private static void panelQ8_0Group(MemorySegment p, long q, long s, int cols, float[] panel, int lane0) {
        for (int c = 0; c < cols; c += 32, q += Q8Groups.BLOCK, s += Q8Groups.BLOCK) {
            FloatVector d = FloatVector.fromMemorySegment(F, p, s, LE);
            for (int j = 0; j < 8; j++) {
                IntVector v = IntVector.fromMemorySegment(I, p, q + 64L * j, LE);
                int at = (c + 4 * j) * PANEL + lane0;
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).mul(d).intoArray(panel, at);
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).mul(d).intoArray(panel, at + PANEL);
                ((FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).mul(d).intoArray(panel, at + 2 * PANEL);
                ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).castShape(F, 0)).mul(d).intoArray(panel, at + 3 * PANEL);
            }
        }
    }

    /** The 16 rows of a Q4_K group into lanes {@code lane0 .. lane0 + 15} of every column of {@code panel} ([cols][PANEL]). */
    private static void panelQ4_KGroup(MemorySegment p, long q, long m, int cols, float[] panel, int lane0) {
        IntVector low = IntVector.broadcast(I, 15), bytes = IntVector.broadcast(I, 0xFF);
        for (int c = 0; c < cols; c += 256, q += Q4kGroups.QUANTS, m += Q4kGroups.META) {
            FloatVector d = FloatVector.fromMemorySegment(F, p, m + 256, LE), negDmin = FloatVector.fromMemorySegment(F, p, m + 320, LE);
            for (int g = 0; g < 4; g++) { // quant bytes 32g .. 32g + 31 of each row: sub-blocks 2g (low nibbles), 2g + 1
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE); // per row: scale 2g, 2g + 1, min 2g, 2g + 1
                FloatVector de = ((FloatVector) sm.and(bytes).castShape(F, 0)).mul(d);
                FloatVector dd = ((FloatVector) sm.lanewise(VectorOperators.LSHR, 8).and(bytes).castShape(F, 0)).mul(d);
                FloatVector me = ((FloatVector) sm.lanewise(VectorOperators.LSHR, 16).and(bytes).castShape(F, 0)).mul(negDmin);
                FloatVector mo = ((FloatVector) sm.lanewise(VectorOperators.LSHR, 24).castShape(F, 0)).mul(negDmin);
                for (int ch = 8 * g; ch < 8 * g + 8; ch++) {
                    IntVector v = IntVector.fromMemorySegment(I, p, q + 64L * ch, LE);
                    // nibble k of chunk ch is column 64g + 32 (k % 2) + 4ch % 32 + k / 2 of the block (Q4kGroups.column)
                    int at = (c + 64 * g + 4 * ch % 32) * PANEL + lane0;
                    ((FloatVector) v.and(low).castShape(F, 0)).mul(de).add(me).intoArray(panel, at);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(low).castShape(F, 0)).mul(dd).add(mo).intoArray(panel, at + 32 * PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 8).and(low).castShape(F, 0)).mul(de).add(me).intoArray(panel, at + PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 12).and(low).castShape(F, 0)).mul(dd).add(mo).intoArray(panel, at + 33 * PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 16).and(low).castShape(F, 0)).mul(de).add(me).intoArray(panel, at + 2 * PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 20).and(low).castShape(F, 0)).mul(dd).add(mo).intoArray(panel, at + 34 * PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 24).and(low).castShape(F, 0)).mul(de).add(me).intoArray(panel, at + 3 * PANEL);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 28).castShape(F, 0)).mul(dd).add(mo).intoArray(panel, at + 35 * PANEL);
                }
            }
        }
    }

    /** Per-thread [PANEL]: where row {@code i} of a panel starts in the decoded rows, {@code i * cols}. */
    private static final ThreadLocal<int[]> GATHER = ThreadLocal.withInitial(() -> new int[PANEL]);

    @Override
    public void gemmPanel(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        if (L == 8) { // two halves of 16 rows
            panel8(panel, 0, cols, Math.min(16, rows), x, xOff, tokens, out, outOff, outStride);
            if (rows > 16) panel8(panel, 16, cols, rows - 16, x, xOff, tokens, out, outOff + 16, outStride);
        } else {
            panel16(panel, cols, rows, x, xOff, tokens, out, outOff, outStride);
        }
    }

    /**
     * AVX2: rows {@code h .. h + 15} of the panel (h = 0 or 16; {@code rows <= 16} of them written), 6 tokens x 16 rows
     * per step, 12 accumulators, weights loaded once per 6 tokens, no reductions.
     */
    private static void panel8(float[] panel, int h, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        float[] tmp = rows < 16 ? new float[16] : NO_ROWS;
        int t = 0;
        for (; t + 6 <= tokens; t += 6) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
            FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
            int x0 = xOff + t * cols;
            for (int c = 0, pc = h; c < cols; c++, pc += PANEL) {
                FloatVector w0 = FloatVector.fromArray(F, panel, pc), w1 = FloatVector.fromArray(F, panel, pc + 8);
                FloatVector b = FloatVector.broadcast(F, x[x0 + c]);
                a00 = w0.fma(b, a00); a01 = w1.fma(b, a01);
                b = FloatVector.broadcast(F, x[x0 + cols + c]);
                a10 = w0.fma(b, a10); a11 = w1.fma(b, a11);
                b = FloatVector.broadcast(F, x[x0 + 2 * cols + c]);
                a20 = w0.fma(b, a20); a21 = w1.fma(b, a21);
                b = FloatVector.broadcast(F, x[x0 + 3 * cols + c]);
                a30 = w0.fma(b, a30); a31 = w1.fma(b, a31);
                b = FloatVector.broadcast(F, x[x0 + 4 * cols + c]);
                a40 = w0.fma(b, a40); a41 = w1.fma(b, a41);
                b = FloatVector.broadcast(F, x[x0 + 5 * cols + c]);
                a50 = w0.fma(b, a50); a51 = w1.fma(b, a51);
            }
            int o = outOff + t * outStride;
            store2(a00, a01, out, o, rows, tmp);
            store2(a10, a11, out, o + outStride, rows, tmp);
            store2(a20, a21, out, o + 2 * outStride, rows, tmp);
            store2(a30, a31, out, o + 3 * outStride, rows, tmp);
            store2(a40, a41, out, o + 4 * outStride, rows, tmp);
            store2(a50, a51, out, o + 5 * outStride, rows, tmp);
        }
        for (; t < tokens; t++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
            int x0 = xOff + t * cols;
            int c = 0;
            for (int pc = h; c + 1 < cols; c += 2, pc += 2 * PANEL) {
                FloatVector b = FloatVector.broadcast(F, x[x0 + c]);
                a0 = FloatVector.fromArray(F, panel, pc).fma(b, a0);
                a1 = FloatVector.fromArray(F, panel, pc + 8).fma(b, a1);
                b = FloatVector.broadcast(F, x[x0 + c + 1]);
                b0 = FloatVector.fromArray(F, panel, pc + PANEL).fma(b, b0);
                b1 = FloatVector.fromArray(F, panel, pc + PANEL + 8).fma(b, b1);
            }
            for (; c < cols; c++) {
                FloatVector b = FloatVector.broadcast(F, x[x0 + c]);
                a0 = FloatVector.fromArray(F, panel, c * PANEL + h).fma(b, a0);
                a1 = FloatVector.fromArray(F, panel, c * PANEL + h + 8).fma(b, a1);
            }
            store2(a0.add(b0), a1.add(b1), out, outOff + t * outStride, rows, tmp);
        }
    }

    private static void store2(FloatVector lo, FloatVector hi, float[] out, int o, int rows, float[] tmp) {
        if (rows == 16) {
            lo.intoArray(out, o);
            hi.intoArray(out, o + 8);
        } else {
            lo.intoArray(tmp, 0);
            hi.intoArray(tmp, 8);
            System.arraycopy(tmp, 0, out, o, rows);
        }
    }

    /**
     * AVX-512: 8 tokens x 32 rows (two vectors) per step, 16 accumulators in named locals: each broadcast activation
     * feeds two FMAs, one weight load feeds eight. (With 16 rows per step, one vector, a 2048-column panel ran at 57-70
     * GFLOP/s against 150-200 for this form in a scratch benchmark, load 11-12: the loads, from L2 at that width, were
     * the limit. The accumulators were once kept in a {@code FloatVector[]}: C2 cannot keep vectors stored in an array
     * in registers, so every FMA fell back to the Java implementation of the Vector API and allocated; prefill ran 5-20x
     * slower than with named locals.)
     */
    private static void panel16(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        float[] tmp = new float[8 * PANEL];
        int t = 0;
        for (; t + 8 <= tokens; t += 8) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
            int x0 = xOff + t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
            int x4 = x3 + cols, x5 = x4 + cols, x6 = x5 + cols, x7 = x6 + cols;
            for (int c = 0, pc = 0; c < cols; c++, pc += PANEL) {
                FloatVector w = FloatVector.fromArray(F, panel, pc), v = FloatVector.fromArray(F, panel, pc + 16);
                FloatVector s = FloatVector.broadcast(F, x[x0 + c]);
                a0 = w.fma(s, a0);
                b0 = v.fma(s, b0);
                s = FloatVector.broadcast(F, x[x1 + c]);
                a1 = w.fma(s, a1);
                b1 = v.fma(s, b1);
                s = FloatVector.broadcast(F, x[x2 + c]);
                a2 = w.fma(s, a2);
                b2 = v.fma(s, b2);
                s = FloatVector.broadcast(F, x[x3 + c]);
                a3 = w.fma(s, a3);
                b3 = v.fma(s, b3);
                s = FloatVector.broadcast(F, x[x4 + c]);
                a4 = w.fma(s, a4);
                b4 = v.fma(s, b4);
                s = FloatVector.broadcast(F, x[x5 + c]);
                a5 = w.fma(s, a5);
                b5 = v.fma(s, b5);
                s = FloatVector.broadcast(F, x[x6 + c]);
                a6 = w.fma(s, a6);
                b6 = v.fma(s, b6);
                s = FloatVector.broadcast(F, x[x7 + c]);
                a7 = w.fma(s, a7);
                b7 = v.fma(s, b7);
            }
            // stored through tmp: a helper taking the vectors as arguments was not always inlined ("callee uses too much
            // stack"), and a vector passed to a method that is not inlined is boxed
            a0.intoArray(tmp, 0);
            b0.intoArray(tmp, 16);
            a1.intoArray(tmp, PANEL);
            b1.intoArray(tmp, PANEL + 16);
            a2.intoArray(tmp, 2 * PANEL);
            b2.intoArray(tmp, 2 * PANEL + 16);
            a3.intoArray(tmp, 3 * PANEL);
            b3.intoArray(tmp, 3 * PANEL + 16);
            a4.intoArray(tmp, 4 * PANEL);
            b4.intoArray(tmp, 4 * PANEL + 16);
            a5.intoArray(tmp, 5 * PANEL);
            b5.intoArray(tmp, 5 * PANEL + 16);
            a6.intoArray(tmp, 6 * PANEL);
            b6.intoArray(tmp, 6 * PANEL + 16);
            a7.intoArray(tmp, 7 * PANEL);
            b7.intoArray(tmp, 7 * PANEL + 16);
            for (int j = 0; j < 8; j++) System.arraycopy(tmp, j * PANEL, out, outOff + (t + j) * outStride, rows);
        }
        for (; t < tokens; t++) { // even and odd columns in separate chains, rows 0..15 in a, 16..31 in b
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
            int x0 = xOff + t * cols;
            int c = 0;
            for (int pc = 0; c + 1 < cols; c += 2, pc += 2 * PANEL) {
                FloatVector s = FloatVector.broadcast(F, x[x0 + c]), s1 = FloatVector.broadcast(F, x[x0 + c + 1]);
                a0 = FloatVector.fromArray(F, panel, pc).fma(s, a0);
                b0 = FloatVector.fromArray(F, panel, pc + 16).fma(s, b0);
                a1 = FloatVector.fromArray(F, panel, pc + PANEL).fma(s1, a1);
                b1 = FloatVector.fromArray(F, panel, pc + PANEL + 16).fma(s1, b1);
            }
            if (c < cols) {
                FloatVector s = FloatVector.broadcast(F, x[x0 + c]);
                a0 = FloatVector.fromArray(F, panel, c * PANEL).fma(s, a0);
                b0 = FloatVector.fromArray(F, panel, c * PANEL + 16).fma(s, b0);
            }
            a0.add(a1).intoArray(tmp, 0);
            b0.add(b1).intoArray(tmp, 16);
            System.arraycopy(tmp, 0, out, outOff + t * outStride, rows);
        }
    }

    // ---- attention ----

    @Override
    public void scores(float[] q, int qOff, int qStride, int rows, int hd, float[] kt, int ktOff, int ktStride, int tokens,
                       float scale, float[] s, int sOff, int sStride) {
        int t = 0;
        FloatVector sv = FloatVector.broadcast(F, scale);
        if (rows == 4) {
            for (; t + 2 * L <= tokens; t += 2 * L) { // 8 independent accumulators: 4 rows x 2 vectors of tokens
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int d = 0, at = ktOff + t; d < hd; d++, at += ktStride) {
                    FloatVector k = FloatVector.fromArray(F, kt, at), k2 = FloatVector.fromArray(F, kt, at + L);
                    FloatVector q0 = FloatVector.broadcast(F, q[qOff + d]), q1 = FloatVector.broadcast(F, q[qOff + qStride + d]);
                    FloatVector q2 = FloatVector.broadcast(F, q[qOff + 2 * qStride + d]), q3 = FloatVector.broadcast(F, q[qOff + 3 * qStride + d]);
                    a0 = k.fma(q0, a0); a1 = k.fma(q1, a1); a2 = k.fma(q2, a2); a3 = k.fma(q3, a3);
                    b0 = k2.fma(q0, b0); b1 = k2.fma(q1, b1); b2 = k2.fma(q2, b2); b3 = k2.fma(q3, b3);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
                a2.mul(sv).intoArray(s, sOff + 2 * sStride + t);
                a3.mul(sv).intoArray(s, sOff + 3 * sStride + t);
                b0.mul(sv).intoArray(s, sOff + t + L);
                b1.mul(sv).intoArray(s, sOff + sStride + t + L);
                b2.mul(sv).intoArray(s, sOff + 2 * sStride + t + L);
                b3.mul(sv).intoArray(s, sOff + 3 * sStride + t + L);
            }
            for (; t + L <= tokens; t += L) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < hd; d++) {
                    FloatVector k = FloatVector.fromArray(F, kt, ktOff + d * ktStride + t);
                    a0 = k.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                    a1 = k.fma(FloatVector.broadcast(F, q[qOff + qStride + d]), a1);
                    a2 = k.fma(FloatVector.broadcast(F, q[qOff + 2 * qStride + d]), a2);
                    a3 = k.fma(FloatVector.broadcast(F, q[qOff + 3 * qStride + d]), a3);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
                a2.mul(sv).intoArray(s, sOff + 2 * sStride + t);
                a3.mul(sv).intoArray(s, sOff + 3 * sStride + t);
            }
        } else if (rows == 2) { // GQA 2:1 at decode: each key vector loaded once for both rows
            for (; t + 4 * L <= tokens; t += 4 * L) { // 8 independent accumulators: 2 rows x 4 vectors of tokens
                FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
                for (int d = 0, at = ktOff + t; d < hd; d++, at += ktStride) {
                    FloatVector k = FloatVector.fromArray(F, kt, at), k2 = FloatVector.fromArray(F, kt, at + L);
                    FloatVector k3 = FloatVector.fromArray(F, kt, at + 2 * L), k4 = FloatVector.fromArray(F, kt, at + 3 * L);
                    FloatVector q0 = FloatVector.broadcast(F, q[qOff + d]), q1 = FloatVector.broadcast(F, q[qOff + qStride + d]);
                    a0 = k.fma(q0, a0); a1 = k.fma(q1, a1);
                    b0 = k2.fma(q0, b0); b1 = k2.fma(q1, b1);
                    c0 = k3.fma(q0, c0); c1 = k3.fma(q1, c1);
                    e0 = k4.fma(q0, e0); e1 = k4.fma(q1, e1);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
                b0.mul(sv).intoArray(s, sOff + t + L);
                b1.mul(sv).intoArray(s, sOff + sStride + t + L);
                c0.mul(sv).intoArray(s, sOff + t + 2 * L);
                c1.mul(sv).intoArray(s, sOff + sStride + t + 2 * L);
                e0.mul(sv).intoArray(s, sOff + t + 3 * L);
                e1.mul(sv).intoArray(s, sOff + sStride + t + 3 * L);
            }
            for (; t + 2 * L <= tokens; t += 2 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
                for (int d = 0, at = ktOff + t; d < hd; d++, at += ktStride) {
                    FloatVector k = FloatVector.fromArray(F, kt, at), k2 = FloatVector.fromArray(F, kt, at + L);
                    FloatVector q0 = FloatVector.broadcast(F, q[qOff + d]), q1 = FloatVector.broadcast(F, q[qOff + qStride + d]);
                    a0 = k.fma(q0, a0); a1 = k.fma(q1, a1);
                    b0 = k2.fma(q0, b0); b1 = k2.fma(q1, b1);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
                b0.mul(sv).intoArray(s, sOff + t + L);
                b1.mul(sv).intoArray(s, sOff + sStride + t + L);
            }
            for (; t + L <= tokens; t += L) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0;
                for (int d = 0, at = ktOff + t; d < hd; d++, at += ktStride) {
                    FloatVector k = FloatVector.fromArray(F, kt, at);
                    a0 = k.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                    a1 = k.fma(FloatVector.broadcast(F, q[qOff + qStride + d]), a1);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
            }
        } else {
            if (rows == 1) { // one query row (decode without GQA): 4 independent accumulators over 4 vectors of tokens
                for (; t + 4 * L <= tokens; t += 4 * L) {
                    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                    for (int d = 0, at = ktOff + t; d < hd; d++, at += ktStride) {
                        FloatVector q0 = FloatVector.broadcast(F, q[qOff + d]);
                        a0 = FloatVector.fromArray(F, kt, at).fma(q0, a0);
                        a1 = FloatVector.fromArray(F, kt, at + L).fma(q0, a1);
                        a2 = FloatVector.fromArray(F, kt, at + 2 * L).fma(q0, a2);
                        a3 = FloatVector.fromArray(F, kt, at + 3 * L).fma(q0, a3);
                    }
                    a0.mul(sv).intoArray(s, sOff + t);
                    a1.mul(sv).intoArray(s, sOff + t + L);
                    a2.mul(sv).intoArray(s, sOff + t + 2 * L);
                    a3.mul(sv).intoArray(s, sOff + t + 3 * L);
                }
            }
            for (; t + L <= tokens; t += L) {
                for (int r = 0; r < rows; r++) {
                    FloatVector a = FloatVector.zero(F);
                    for (int d = 0; d < hd; d++) {
                        a = FloatVector.fromArray(F, kt, ktOff + d * ktStride + t).fma(FloatVector.broadcast(F, q[qOff + r * qStride + d]), a);
                    }
                    a.mul(sv).intoArray(s, sOff + r * sStride + t);
                }
            }
        }
        if (t < tokens) ScalarKernels.INSTANCE.scores(q, qOff, qStride, rows, hd, kt, ktOff + t, ktStride, tokens - t, scale, s, sOff + t, sStride);
    }

    @Override
    public void scoresF16(float[] q, int qOff, int qStride, int rows, int hd, short[] kt, int ktOff, int ktStride, int tokens,
                          float scale, float[] s, int sOff, int sStride) {
        int t = 0;
        FloatVector sv = FloatVector.broadcast(F, scale);
        for (; t + L <= tokens; t += L) {
            if (rows == 4) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < hd; d++) {
                    FloatVector k = halves(kt, ktOff + d * ktStride + t);
                    a0 = k.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                    a1 = k.fma(FloatVector.broadcast(F, q[qOff + qStride + d]), a1);
                    a2 = k.fma(FloatVector.broadcast(F, q[qOff + 2 * qStride + d]), a2);
                    a3 = k.fma(FloatVector.broadcast(F, q[qOff + 3 * qStride + d]), a3);
                }
                a0.mul(sv).intoArray(s, sOff + t);
                a1.mul(sv).intoArray(s, sOff + sStride + t);
                a2.mul(sv).intoArray(s, sOff + 2 * sStride + t);
                a3.mul(sv).intoArray(s, sOff + 3 * sStride + t);
            } else {
                for (int r = 0; r < rows; r++) {
                    FloatVector a = FloatVector.zero(F);
                    for (int d = 0; d < hd; d++) {
                        a = halves(kt, ktOff + d * ktStride + t).fma(FloatVector.broadcast(F, q[qOff + r * qStride + d]), a);
                    }
                    a.mul(sv).intoArray(s, sOff + r * sStride + t);
                }
            }
        }
        if (t < tokens) ScalarKernels.INSTANCE.scoresF16(q, qOff, qStride, rows, hd, kt, ktOff + t, ktStride, tokens - t, scale, s, sOff + t, sStride);
    }

    @Override
    public void weightedSum(float[] p, int pOff, int pStride, int rows, float[] v, int vOff, int tokens, int hd,
                            float[] out, int oOff, int oStride) {
        int d = 0;
        if (rows == 4) { // 8 independent accumulators: 4 rows x 2 vectors of the head
            for (; d + 2 * L <= hd; d += 2 * L) {
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + oStride + d);
                FloatVector a2 = FloatVector.fromArray(F, out, oOff + 2 * oStride + d), a3 = FloatVector.fromArray(F, out, oOff + 3 * oStride + d);
                FloatVector b0 = FloatVector.fromArray(F, out, oOff + d + L), b1 = FloatVector.fromArray(F, out, oOff + oStride + d + L);
                FloatVector b2 = FloatVector.fromArray(F, out, oOff + 2 * oStride + d + L), b3 = FloatVector.fromArray(F, out, oOff + 3 * oStride + d + L);
                for (int t = 0, at = vOff + d; t < tokens; t++, at += hd) {
                    FloatVector v0 = FloatVector.fromArray(F, v, at), v1 = FloatVector.fromArray(F, v, at + L);
                    FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]), p1 = FloatVector.broadcast(F, p[pOff + pStride + t]);
                    FloatVector p2 = FloatVector.broadcast(F, p[pOff + 2 * pStride + t]), p3 = FloatVector.broadcast(F, p[pOff + 3 * pStride + t]);
                    a0 = v0.fma(p0, a0); a1 = v0.fma(p1, a1); a2 = v0.fma(p2, a2); a3 = v0.fma(p3, a3);
                    b0 = v1.fma(p0, b0); b1 = v1.fma(p1, b1); b2 = v1.fma(p2, b2); b3 = v1.fma(p3, b3);
                }
                a0.intoArray(out, oOff + d); a1.intoArray(out, oOff + oStride + d);
                a2.intoArray(out, oOff + 2 * oStride + d); a3.intoArray(out, oOff + 3 * oStride + d);
                b0.intoArray(out, oOff + d + L); b1.intoArray(out, oOff + oStride + d + L);
                b2.intoArray(out, oOff + 2 * oStride + d + L); b3.intoArray(out, oOff + 3 * oStride + d + L);
            }
        }
        if (rows == 2) { // GQA 2:1 at decode: each value vector loaded once for both rows
            for (; d + 4 * L <= hd; d += 4 * L) { // 8 independent accumulators: 2 rows x 4 vectors of the head
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + oStride + d);
                FloatVector b0 = FloatVector.fromArray(F, out, oOff + d + L), b1 = FloatVector.fromArray(F, out, oOff + oStride + d + L);
                FloatVector c0 = FloatVector.fromArray(F, out, oOff + d + 2 * L), c1 = FloatVector.fromArray(F, out, oOff + oStride + d + 2 * L);
                FloatVector e0 = FloatVector.fromArray(F, out, oOff + d + 3 * L), e1 = FloatVector.fromArray(F, out, oOff + oStride + d + 3 * L);
                for (int t = 0, at = vOff + d; t < tokens; t++, at += hd) {
                    FloatVector v0 = FloatVector.fromArray(F, v, at), v1 = FloatVector.fromArray(F, v, at + L);
                    FloatVector v2 = FloatVector.fromArray(F, v, at + 2 * L), v3 = FloatVector.fromArray(F, v, at + 3 * L);
                    FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]), p1 = FloatVector.broadcast(F, p[pOff + pStride + t]);
                    a0 = v0.fma(p0, a0); a1 = v0.fma(p1, a1);
                    b0 = v1.fma(p0, b0); b1 = v1.fma(p1, b1);
                    c0 = v2.fma(p0, c0); c1 = v2.fma(p1, c1);
                    e0 = v3.fma(p0, e0); e1 = v3.fma(p1, e1);
                }
                a0.intoArray(out, oOff + d); a1.intoArray(out, oOff + oStride + d);
                b0.intoArray(out, oOff + d + L); b1.intoArray(out, oOff + oStride + d + L);
                c0.intoArray(out, oOff + d + 2 * L); c1.intoArray(out, oOff + oStride + d + 2 * L);
                e0.intoArray(out, oOff + d + 3 * L); e1.intoArray(out, oOff + oStride + d + 3 * L);
            }
            for (; d + 2 * L <= hd; d += 2 * L) {
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + oStride + d);
                FloatVector b0 = FloatVector.fromArray(F, out, oOff + d + L), b1 = FloatVector.fromArray(F, out, oOff + oStride + d + L);
                for (int t = 0, at = vOff + d; t < tokens; t++, at += hd) {
                    FloatVector v0 = FloatVector.fromArray(F, v, at), v1 = FloatVector.fromArray(F, v, at + L);
                    FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]), p1 = FloatVector.broadcast(F, p[pOff + pStride + t]);
                    a0 = v0.fma(p0, a0); a1 = v0.fma(p1, a1);
                    b0 = v1.fma(p0, b0); b1 = v1.fma(p1, b1);
                }
                a0.intoArray(out, oOff + d); a1.intoArray(out, oOff + oStride + d);
                b0.intoArray(out, oOff + d + L); b1.intoArray(out, oOff + oStride + d + L);
            }
        }
        if (rows == 1) { // one query row (decode without GQA): 4 independent accumulators over 4 vectors of the head
            for (; d + 4 * L <= hd; d += 4 * L) {
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + d + L);
                FloatVector a2 = FloatVector.fromArray(F, out, oOff + d + 2 * L), a3 = FloatVector.fromArray(F, out, oOff + d + 3 * L);
                for (int t = 0, at = vOff + d; t < tokens; t++, at += hd) {
                    FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]);
                    a0 = FloatVector.fromArray(F, v, at).fma(p0, a0);
                    a1 = FloatVector.fromArray(F, v, at + L).fma(p0, a1);
                    a2 = FloatVector.fromArray(F, v, at + 2 * L).fma(p0, a2);
                    a3 = FloatVector.fromArray(F, v, at + 3 * L).fma(p0, a3);
                }
                a0.intoArray(out, oOff + d); a1.intoArray(out, oOff + d + L);
                a2.intoArray(out, oOff + d + 2 * L); a3.intoArray(out, oOff + d + 3 * L);
            }
        }
        for (; d + L <= hd; d += L) {
            if (rows == 4) {
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + oStride + d);
                FloatVector a2 = FloatVector.fromArray(F, out, oOff + 2 * oStride + d), a3 = FloatVector.fromArray(F, out, oOff + 3 * oStride + d);
                for (int t = 0; t < tokens; t++) {
                    FloatVector vv = FloatVector.fromArray(F, v, vOff + t * hd + d);
                    a0 = vv.fma(FloatVector.broadcast(F, p[pOff + t]), a0);
                    a1 = vv.fma(FloatVector.broadcast(F, p[pOff + pStride + t]), a1);
                    a2 = vv.fma(FloatVector.broadcast(F, p[pOff + 2 * pStride + t]), a2);
                    a3 = vv.fma(FloatVector.broadcast(F, p[pOff + 3 * pStride + t]), a3);
                }
                a0.intoArray(out, oOff + d);
                a1.intoArray(out, oOff + oStride + d);
                a2.intoArray(out, oOff + 2 * oStride + d);
                a3.intoArray(out, oOff + 3 * oStride + d);
            } else {
                for (int r = 0; r < rows; r++) {
                    FloatVector a = FloatVector.fromArray(F, out, oOff + r * oStride + d);
                    for (int t = 0; t < tokens; t++) {
                        a = FloatVector.fromArray(F, v, vOff + t * hd + d).fma(FloatVector.broadcast(F, p[pOff + r * pStride + t]), a);
                    }
                    a.intoArray(out, oOff + r * oStride + d);
                }
            }
        }
        for (; d < hd; d++) {
            for (int r = 0; r < rows; r++) {
                float a = out[oOff + r * oStride + d];
                for (int t = 0; t < tokens; t++) a += p[pOff + r * pStride + t] * v[vOff + t * hd + d];
                out[oOff + r * oStride + d] = a;
            }
        }
    }

    @Override
    public void weightedSumF16(float[] p, int pOff, int pStride, int rows, short[] v, int vOff, int tokens, int hd,
                               float[] out, int oOff, int oStride) {
        int d = 0;
        for (; d + L <= hd; d += L) {
            if (rows == 4) {
                FloatVector a0 = FloatVector.fromArray(F, out, oOff + d), a1 = FloatVector.fromArray(F, out, oOff + oStride + d);
                FloatVector a2 = FloatVector.fromArray(F, out, oOff + 2 * oStride + d), a3 = FloatVector.fromArray(F, out, oOff + 3 * oStride + d);
                for (int t = 0; t < tokens; t++) {
                    FloatVector vv = halves(v, vOff + t * hd + d);
                    a0 = vv.fma(FloatVector.broadcast(F, p[pOff + t]), a0);
                    a1 = vv.fma(FloatVector.broadcast(F, p[pOff + pStride + t]), a1);
                    a2 = vv.fma(FloatVector.broadcast(F, p[pOff + 2 * pStride + t]), a2);
                    a3 = vv.fma(FloatVector.broadcast(F, p[pOff + 3 * pStride + t]), a3);
                }
                a0.intoArray(out, oOff + d);
                a1.intoArray(out, oOff + oStride + d);
                a2.intoArray(out, oOff + 2 * oStride + d);
                a3.intoArray(out, oOff + 3 * oStride + d);
            } else {
                for (int r = 0; r < rows; r++) {
                    FloatVector a = FloatVector.fromArray(F, out, oOff + r * oStride + d);
                    for (int t = 0; t < tokens; t++) {
                        a = halves(v, vOff + t * hd + d).fma(FloatVector.broadcast(F, p[pOff + r * pStride + t]), a);
                    }
                    a.intoArray(out, oOff + r * oStride + d);
                }
            }
        }
        for (; d < hd; d++) {
            for (int r = 0; r < rows; r++) {
                float a = out[oOff + r * oStride + d];
                for (int t = 0; t < tokens; t++) a += p[pOff + r * pStride + t] * Float.float16ToFloat(v[vOff + t * hd + d]);
                out[oOff + r * oStride + d] = a;
            }
        }
    }

    // ---- matrix x matrix (dot-product form) ----

    @Override
    public void gemmTile(float[] a, int rows, int cols, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        int t = 0;
        if (rows == 4 && cols >= L) {
            for (; t + 4 <= tokens; t += 4) {
                kernel4x4(a, cols, x, xOff + t * cols, out, outOff + t * outStride, outStride);
            }
        }
        for (; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                out[outOff + t * outStride + r] = dot(a, r * cols, x, xOff + t * cols, cols);
            }
        }
    }

    private static final float[] NO_TAIL = new float[16];

    /** 4 rows of {@code a} times 4 rows of {@code x}: 16 dot products sharing their loads. */
    private static void kernel4x4(float[] a, int cols, float[] x, int xOff, float[] out, int outOff, int outStride) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int a1 = cols, a2 = 2 * cols, a3 = 3 * cols;
        int x0 = xOff, x1 = xOff + cols, x2 = xOff + 2 * cols, x3 = xOff + 3 * cols;
        int k = 0;
        for (int bound = F.loopBound(cols); k < bound; k += L) {
            FloatVector w0 = FloatVector.fromArray(F, a, k);
            FloatVector w1 = FloatVector.fromArray(F, a, a1 + k);
            FloatVector w2 = FloatVector.fromArray(F, a, a2 + k);
            FloatVector w3 = FloatVector.fromArray(F, a, a3 + k);
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            c00 = w0.fma(v, c00); c10 = w1.fma(v, c10); c20 = w2.fma(v, c20); c30 = w3.fma(v, c30);
            v = FloatVector.fromArray(F, x, x1 + k);
            c01 = w0.fma(v, c01); c11 = w1.fma(v, c11); c21 = w2.fma(v, c21); c31 = w3.fma(v, c31);
            v = FloatVector.fromArray(F, x, x2 + k);
            c02 = w0.fma(v, c02); c12 = w1.fma(v, c12); c22 = w2.fma(v, c22); c32 = w3.fma(v, c32);
            v = FloatVector.fromArray(F, x, x3 + k);
            c03 = w0.fma(v, c03); c13 = w1.fma(v, c13); c23 = w2.fma(v, c23); c33 = w3.fma(v, c33);
        }
        float[] tail = k < cols ? new float[16] : NO_TAIL;
        for (; k < cols; k++) {
            for (int r = 0; r < 4; r++) {
                float w = a[r * cols + k];
                for (int t = 0; t < 4; t++) tail[t * 4 + r] += w * x[xOff + t * cols + k];
            }
        }
        int o0 = outOff, o1 = outOff + outStride, o2 = outOff + 2 * outStride, o3 = outOff + 3 * outStride;
        out[o0] = Lanes.sum(c00) + tail[0];
        out[o0 + 1] = Lanes.sum(c10) + tail[1];
        out[o0 + 2] = Lanes.sum(c20) + tail[2];
        out[o0 + 3] = Lanes.sum(c30) + tail[3];
        out[o1] = Lanes.sum(c01) + tail[4];
        out[o1 + 1] = Lanes.sum(c11) + tail[5];
        out[o1 + 2] = Lanes.sum(c21) + tail[6];
        out[o1 + 3] = Lanes.sum(c31) + tail[7];
        out[o2] = Lanes.sum(c02) + tail[8];
        out[o2 + 1] = Lanes.sum(c12) + tail[9];
        out[o2 + 2] = Lanes.sum(c22) + tail[10];
        out[o2 + 3] = Lanes.sum(c32) + tail[11];
        out[o3] = Lanes.sum(c03) + tail[12];
        out[o3 + 1] = Lanes.sum(c13) + tail[13];
        out[o3 + 2] = Lanes.sum(c23) + tail[14];
        out[o3 + 3] = Lanes.sum(c33) + tail[15];
    }
}
