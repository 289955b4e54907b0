package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How decode's grouped Q8_0 product walks memory: the arithmetic per group is {@link VectorKernels#dotQ8_0GroupQ8}'s, so
 * each group's 16 results are bit for bit those of the one-group kernel and of its scalar twin
 * {@link ScalarKernels#dotQ8_0GroupQ8}; what differs is how many groups one loop reads at once, for a core that streams
 * far below its read rate with one stream (the quiet Xeon: one core reads 16.1 GB/s, the one-group kernel 8.0 GB/s from
 * memory).
 *
 * <ul>
 *   <li>{@code split4} (the default): groups g, g + quarter, g + 2 quarter, g + 3 quarter of a product's whole groups in
 *       one loop ({@link VectorKernels#dotQ8_0GroupQuadQ8}), four streams of loads, one broadcast of x for four groups;
 *       the last whole groups that do not fill a four take the one-group kernel. On the shared EPYC (2026-12-04 19:15-19:20,
 *       load 2.7-3.4) 1B Q8_0 decode 1.08-1.20x over {@code split} and 1.52-1.61x over {@code one} in alternating
 *       processes (3 of 3 pairs each).</li>
 *   <li>{@code split}: groups g and g + half in one loop ({@link VectorKernels#dotQ8_0GroupPairQ8}), two streams. On the
 *       quiet Xeon (2026-12-04 18:26, pinned, load 0.5-1.4): RowThroughput from memory 7.96 -> 9.65 GB/s, 1B Q8_0 decode
 *       4.58 / 5.11 -> 6.33 / 7.00 tokens/s over {@code one} in two alternating pairs (BENCHMARKS.md, "Decode,
 *       2026-12-04 (sixth session)").</li>
 *   <li>{@code one}: one group a loop ({@link VectorKernels#dotQ8_0GroupQ8}).</li>
 *   <li>{@code pair}: groups g and g + 1 ({@link VectorKernels#dotQ8_0GroupPairQ8}; streams 36 KB apart at 2048 columns:
 *       slower from memory on the shared EPYC).</li>
 *   <li>{@code -Dnq.q8Ahead=BYTES} ({@link #dotAhead} / {@link #dotPairAhead}): scalar loads that many bytes past each block
 *       (a "touch" of one byte per 128, a line and its pair: Java has no prefetch instruction); blocks whose touches would
 *       pass the matrix's end touch nothing; the values only feed {@link #sink}. Slower on the Xeon (1 and 4 KB ahead:
 *       6.4 and 5.4 GB/s from memory against 8.0).</li>
 * </ul>
 * Chosen by {@code -Dnq.q8Kernel=split4|split|one|pair} and {@code -Dnq.q8Ahead} (default 0: no touch).
 */
final class Q8GroupStreams {

    /** {@code -Dnq.q8Kernel}: {@code split4} (the default: four groups a quarter apart), {@code split}, {@code one}, {@code pair}. */
    static final String KERNEL = System.getProperty("nq.q8Kernel", "split4").toLowerCase(java.util.Locale.ROOT);
    static final boolean PAIR = KERNEL.equals("pair"), SPLIT = KERNEL.equals("split"), SPLIT4 = KERNEL.equals("split4");

    static {
        if (!PAIR && !SPLIT && !SPLIT4 && !KERNEL.equals("one")) {
            throw new IllegalArgumentException("-Dnq.q8Kernel must be split4, split, one or pair, not " + KERNEL);
        }
        if (Long.getLong("nq.q8Ahead", 0) < 0) throw new IllegalArgumentException("-Dnq.q8Ahead must be 0 or more bytes");
    }
    /** Bytes between a load and its touch, 0 for none. */
    static final long AHEAD = Long.getLong("nq.q8Ahead", 0);

    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;

    /** Whether decode takes one of these variants instead of {@link VectorKernels#dotQ8_0GroupQ8}. */
    static final boolean ON = PAIR || SPLIT || SPLIT4 || AHEAD > 0;

    /**
     * Whole groups {@code g0 .. g1 - 1} of a grouped Q8_0 matrix of {@code n} columns into {@code out}, group {@code g}'s
     * rows at {@code o + 16 * (g - g0)}, by the variant the properties chose.
     */
    static void dotGroups(MemorySegment p, int g0, int g1, int[] xq, float[] xd, int n, float[] out, int o) {
        int g = g0;
        if (SPLIT4) {
            int quarter = (g1 - g0) / 4;
            for (int i = 0; i < quarter; i++) {
                int a = g0 + i;
                VectorKernels.dotQ8_0GroupQuadQ8(p, Q8Groups.quants(a, n), Q8Groups.quants(a + quarter, n), Q8Groups.quants(a + 2 * quarter, n),
                        Q8Groups.quants(a + 3 * quarter, n), xq, xd, n, out, o + 16 * i, o + 16 * (i + quarter),
                        o + 16 * (i + 2 * quarter), o + 16 * (i + 3 * quarter));
            }
            g = g0 + 4 * quarter;
        } else if (PAIR || SPLIT) {
            int half = (g1 - g0) / 2, step = PAIR ? 1 : half;
            for (int i = 0; i < half; i++) {
                int a = PAIR ? g0 + 2 * i : g0 + i, b = a + step;
                long qa = Q8Groups.quants(a, n), qb = Q8Groups.quants(b, n);
                if (AHEAD > 0) dotPairAhead(p, qa, qb, xq, xd, n, out, o + 16 * (a - g0), o + 16 * (b - g0), AHEAD);
                else VectorKernels.dotQ8_0GroupPairQ8(p, qa, qb, xq, xd, n, out, o + 16 * (a - g0), o + 16 * (b - g0));
            }
            g = g0 + 2 * half;
        }
        for (; g < g1; g++) {
            long q = Q8Groups.quants(g, n);
            if (AHEAD > 0) dotAhead(p, q, xq, xd, n, out, o + 16 * (g - g0), AHEAD);
            else VectorKernels.dotQ8_0GroupQ8(p, q, q + Q8Groups.QUANTS, xq, xd, n, out, o + 16 * (g - g0));
        }
    }

    /** Where the touched bytes go, so that the loads are not removed. */
    static volatile int sink;

    /** Bytes a block's touches span: one byte every 128 (a line and its pair, which Intel's L2 fetches together). */
    private static final long TOUCHED = 640;

    private Q8GroupStreams() {
    }

    /** One byte of each 128 of the 640 from {@code at} (a block is 576 bytes), summed. */
    private static int touch(MemorySegment p, long at) {
        return p.get(ValueLayout.JAVA_BYTE, at) + p.get(ValueLayout.JAVA_BYTE, at + 128) + p.get(ValueLayout.JAVA_BYTE, at + 256)
                + p.get(ValueLayout.JAVA_BYTE, at + 384) + p.get(ValueLayout.JAVA_BYTE, at + 512);
    }

    /** {@link VectorKernels#dotQ8_0GroupPairQ8} with touches {@code ahead} bytes past each block of both streams. */
    static void dotPairAhead(MemorySegment p, long q, long q1, int[] xq, float[] xd, int n, float[] out, int o, int o1, long ahead) {
        long last = p.byteSize() - 1;
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        IntVector bias = IntVector.broadcast(I, 0x8000);
        int touched = 0;
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
            if (Math.max(q, q1) + ahead + TOUCHED <= last) touched += touch(p, q + ahead) + touch(p, q1 + ahead);
            FloatVector d = FloatVector.broadcast(F, xd[c >> 5]);
            IntVector t0 = all0.sub(hi0.lanewise(VectorOperators.LSHL, 16)).add(hi0).sub(8 * 0x8000);
            IntVector t1 = all1.sub(hi1.lanewise(VectorOperators.LSHL, 16)).add(hi1).sub(8 * 0x8000);
            total0 = ((FloatVector) t0.castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, q + Q8Groups.QUANTS, LE), total0);
            total1 = ((FloatVector) t1.castShape(F, 0)).mul(d).fma(FloatVector.fromMemorySegment(F, p, q1 + Q8Groups.QUANTS, LE), total1);
        }
        total0.intoArray(out, o);
        total1.intoArray(out, o1);
        if (touched == Integer.MIN_VALUE) sink = touched;
    }

    /** {@link VectorKernels#dotQ8_0GroupQ8} (one group) with touches {@code ahead} bytes past each block. */
    static void dotAhead(MemorySegment p, long q, int[] xq, float[] xd, int n, float[] out, int o, long ahead) {
        long last = p.byteSize() - 1;
        FloatVector total = FloatVector.zero(F);
        IntVector bias = IntVector.broadcast(I, 0x8000);
        int touched = 0;
        for (int c = 0; c < n; c += 32, q += Q8Groups.BLOCK) {
            IntVector hi = IntVector.zero(I), all = hi;
            int xi = c >> 1;
            for (int j = 0; j < 8; j++, xi += 2) {
                ShortVector v = ShortVector.fromMemorySegment(S32, p, q + 64L * j, LE);
                IntVector r = v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(IntVector.broadcast(I, xq[xi]).reinterpretAsShorts())
                        .add(v.lanewise(VectorOperators.ASHR, 8).mul(IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts()))
                        .reinterpretAsInts().lanewise(VectorOperators.XOR, bias);
                hi = hi.add(r.lanewise(VectorOperators.ASHR, 16));
                all = all.add(r);
            }
            if (q + ahead + TOUCHED <= last) touched += touch(p, q + ahead);
            IntVector t = all.sub(hi.lanewise(VectorOperators.LSHL, 16)).add(hi).sub(8 * 0x8000);
            total = ((FloatVector) t.castShape(F, 0)).mul(xd[c >> 5]).fma(FloatVector.fromMemorySegment(F, p, q + Q8Groups.QUANTS, LE), total);
        }
        total.intoArray(out, o);
        if (touched == Integer.MIN_VALUE) sink = touched;
    }
}
