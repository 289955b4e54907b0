package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Two groups of a grouped k-quant matrix ({@link Q4kGroups}, {@link Q6kGroups}) in one loop, for a core that streams
 * far below its read rate from one stream of loads (the quiet Xeon read 16 GB/s at one core, while both engines' 1B
 * decode ran at 5-7 GB/s; two Q8_0 groups half a product apart read 9.65 GB/s there against 7.96 for one): the walker
 * pairs group g with the group half of the range's whole groups further ({@code -Dnq.kGroupKernel=split}; default
 * {@code one}: {@link VectorKernels#dotQ4_KGroup} / {@link VectorKernels#dotQ6_KGroup} a group at a time). Each group's
 * arithmetic is that of the one-group kernel in the same order, so its 16 results are the same bits (and those of the
 * scalar twins), only the loads of the two groups are interleaved and x's broadcasts shared.
 */
final class KGroupStreams {

    /** {@code -Dnq.kGroupKernel}: {@code one} (the default) or {@code split}. */
    static final boolean SPLIT = "split".equalsIgnoreCase(System.getProperty("nq.kGroupKernel", "one"));

    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private KGroupStreams() {
    }

    /**
     * {@link VectorKernels#dotQ6_KGroup} of two groups (quants at {@code q}, {@code q1}, metadata at {@code m}, {@code m1})
     * in one loop: {@code out[o ..]} the first group's 16 rows, {@code out[o1 ..]} the second's.
     */
    static void dotQ6_KPair(MemorySegment p, long q, long m, long q1, long m1, int[] xq, float[] xd, int n, float[] out, int o, int o1) {
        FloatVector total = FloatVector.zero(F), total1 = total;
        ShortVector low = ShortVector.broadcast(S32, (short) 15), high = ShortVector.broadcast(S32, (short) 0x30);
        ShortVector bias = ShortVector.broadcast(S32, (short) 32);
        for (int c = 0; c < n; c += 256, q += Q6kGroups.QUANTS, m += Q6kGroups.META, q1 += Q6kGroups.QUANTS, m1 += Q6kGroups.META) {
            IntVector blk = IntVector.zero(I), blk1 = blk;
            for (int g = 0; g < 4; g++) {
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE), sm1 = IntVector.fromMemorySegment(I, p, m1 + 64L * g, LE);
                for (int hh = 0; hh < 2; hh++) {
                    ShortVector e = ShortVector.zero(S32), od = e, e1 = e, od1 = e;
                    for (int pr = 4 * g + 2 * hh; pr < 4 * g + 2 * hh + 2; pr++) {
                        long at = q + (long) Q6kGroups.PAIR * pr, at1 = q1 + (long) Q6kGroups.PAIR * pr;
                        int xi = (c >> 1) + 8 * pr;
                        ShortVector x0 = IntVector.broadcast(I, xq[xi]).reinterpretAsShorts(), x1 = IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts();
                        ShortVector x2 = IntVector.broadcast(I, xq[xi + 2]).reinterpretAsShorts(), x3 = IntVector.broadcast(I, xq[xi + 3]).reinterpretAsShorts();
                        ShortVector x4 = IntVector.broadcast(I, xq[xi + 4]).reinterpretAsShorts(), x5 = IntVector.broadcast(I, xq[xi + 5]).reinterpretAsShorts();
                        ShortVector x6 = IntVector.broadcast(I, xq[xi + 6]).reinterpretAsShorts(), x7 = IntVector.broadcast(I, xq[xi + 7]).reinterpretAsShorts();
                        ShortVector v = ShortVector.fromMemorySegment(S32, p, at, LE), v1 = ShortVector.fromMemorySegment(S32, p, at1, LE);
                        ShortVector u = ShortVector.fromMemorySegment(S32, p, at + 64, LE), u1 = ShortVector.fromMemorySegment(S32, p, at1 + 64, LE);
                        ShortVector h = ShortVector.fromMemorySegment(S32, p, at + 128, LE), h1 = ShortVector.fromMemorySegment(S32, p, at1 + 128, LE);
                        e = v.and(low).or(h.lanewise(VectorOperators.LSHL, 4).and(high)).sub(bias).mul(x0).add(e);
                        e1 = v1.and(low).or(h1.lanewise(VectorOperators.LSHL, 4).and(high)).sub(bias).mul(x0).add(e1);
                        od = v.lanewise(VectorOperators.LSHR, 4).and(low).or(h.lanewise(VectorOperators.LSHL, 2).and(high)).sub(bias).mul(x1).add(od);
                        od1 = v1.lanewise(VectorOperators.LSHR, 4).and(low).or(h1.lanewise(VectorOperators.LSHL, 2).and(high)).sub(bias).mul(x1).add(od1);
                        e = v.lanewise(VectorOperators.LSHR, 8).and(low).or(h.and(high)).sub(bias).mul(x2).add(e);
                        e1 = v1.lanewise(VectorOperators.LSHR, 8).and(low).or(h1.and(high)).sub(bias).mul(x2).add(e1);
                        od = v.lanewise(VectorOperators.LSHR, 12).or(h.lanewise(VectorOperators.LSHR, 2).and(high)).sub(bias).mul(x3).add(od);
                        od1 = v1.lanewise(VectorOperators.LSHR, 12).or(h1.lanewise(VectorOperators.LSHR, 2).and(high)).sub(bias).mul(x3).add(od1);
                        e = u.and(low).or(h.lanewise(VectorOperators.LSHR, 4).and(high)).sub(bias).mul(x4).add(e);
                        e1 = u1.and(low).or(h1.lanewise(VectorOperators.LSHR, 4).and(high)).sub(bias).mul(x4).add(e1);
                        od = u.lanewise(VectorOperators.LSHR, 4).and(low).or(h.lanewise(VectorOperators.LSHR, 6).and(high)).sub(bias).mul(x5).add(od);
                        od1 = u1.lanewise(VectorOperators.LSHR, 4).and(low).or(h1.lanewise(VectorOperators.LSHR, 6).and(high)).sub(bias).mul(x5).add(od1);
                        e = u.lanewise(VectorOperators.LSHR, 8).and(low).or(h.lanewise(VectorOperators.LSHR, 8).and(high)).sub(bias).mul(x6).add(e);
                        e1 = u1.lanewise(VectorOperators.LSHR, 8).and(low).or(h1.lanewise(VectorOperators.LSHR, 8).and(high)).sub(bias).mul(x6).add(e1);
                        od = u.lanewise(VectorOperators.LSHR, 12).or(h.lanewise(VectorOperators.LSHR, 10).and(high)).sub(bias).mul(x7).add(od);
                        od1 = u1.lanewise(VectorOperators.LSHR, 12).or(h1.lanewise(VectorOperators.LSHR, 10).and(high)).sub(bias).mul(x7).add(od1);
                    }
                    IntVector ei = e.reinterpretAsInts(), oi = od.reinterpretAsInts(), ei1 = e1.reinterpretAsInts(), oi1 = od1.reinterpretAsInts();
                    IntVector se = ei.lanewise(VectorOperators.ASHR, 16).add(ei.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    IntVector so = oi.lanewise(VectorOperators.ASHR, 16).add(oi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    IntVector se1 = ei1.lanewise(VectorOperators.ASHR, 16).add(ei1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    IntVector so1 = oi1.lanewise(VectorOperators.ASHR, 16).add(oi1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                    blk = se.mul(sm.lanewise(VectorOperators.LSHL, 24 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk);
                    blk = so.mul(sm.lanewise(VectorOperators.LSHL, 8 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk);
                    blk1 = se1.mul(sm1.lanewise(VectorOperators.LSHL, 24 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk1);
                    blk1 = so1.mul(sm1.lanewise(VectorOperators.LSHL, 8 - 8 * hh).lanewise(VectorOperators.ASHR, 24)).add(blk1);
                }
            }
            total = ((FloatVector) blk.castShape(F, 0)).mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m + 256, LE), total);
            total1 = ((FloatVector) blk1.castShape(F, 0)).mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m1 + 256, LE), total1);
        }
        total.intoArray(out, o);
        total1.intoArray(out, o1);
    }

    /**
     * {@link VectorKernels#dotQ4_KGroup} of two groups (quants at {@code q}, {@code q1}, metadata at {@code m}, {@code m1})
     * in one loop, without the mins' part ({@link VectorKernels#minsQ4_KGroup}, a group at a time, after it).
     */
    static void dotQ4_KPair(MemorySegment p, long q, long m, long q1, long m1, int[] xq, float[] xd, int n, float[] out, int o, int o1) {
        FloatVector total = FloatVector.zero(F), total1 = total;
        ShortVector low = ShortVector.broadcast(S32, (short) 15);
        IntVector bytes = IntVector.broadcast(I, 0xFF);
        for (int c = 0; c < n; c += 256, q += Q4kGroups.QUANTS, m += Q4kGroups.META, q1 += Q4kGroups.QUANTS, m1 += Q4kGroups.META) {
            FloatVector blk = FloatVector.zero(F), blk1 = blk;
            for (int g = 0; g < 4; g++) {
                ShortVector e = ShortVector.zero(S32), od = e, e2 = e, od2 = e, f = e, fd = e, f2 = e, fd2 = e;
                for (int ch = 8 * g; ch < 8 * g + 8; ch += 2) {
                    int xi = (c >> 1) + 4 * ch;
                    ShortVector x0 = IntVector.broadcast(I, xq[xi]).reinterpretAsShorts(), x1 = IntVector.broadcast(I, xq[xi + 1]).reinterpretAsShorts();
                    ShortVector x2 = IntVector.broadcast(I, xq[xi + 2]).reinterpretAsShorts(), x3 = IntVector.broadcast(I, xq[xi + 3]).reinterpretAsShorts();
                    ShortVector x4 = IntVector.broadcast(I, xq[xi + 4]).reinterpretAsShorts(), x5 = IntVector.broadcast(I, xq[xi + 5]).reinterpretAsShorts();
                    ShortVector x6 = IntVector.broadcast(I, xq[xi + 6]).reinterpretAsShorts(), x7 = IntVector.broadcast(I, xq[xi + 7]).reinterpretAsShorts();
                    ShortVector v = ShortVector.fromMemorySegment(S32, p, q + 64L * ch, LE), u = ShortVector.fromMemorySegment(S32, p, q + 64L * ch + 64, LE);
                    ShortVector v1 = ShortVector.fromMemorySegment(S32, p, q1 + 64L * ch, LE), u1 = ShortVector.fromMemorySegment(S32, p, q1 + 64L * ch + 64, LE);
                    e = v.and(low).mul(x0).add(e);
                    f = v1.and(low).mul(x0).add(f);
                    od = v.lanewise(VectorOperators.LSHR, 4).and(low).mul(x1).add(od);
                    fd = v1.lanewise(VectorOperators.LSHR, 4).and(low).mul(x1).add(fd);
                    e2 = u.and(low).mul(x4).add(e2);
                    f2 = u1.and(low).mul(x4).add(f2);
                    od2 = u.lanewise(VectorOperators.LSHR, 4).and(low).mul(x5).add(od2);
                    fd2 = u1.lanewise(VectorOperators.LSHR, 4).and(low).mul(x5).add(fd2);
                    e = v.lanewise(VectorOperators.LSHR, 8).and(low).mul(x2).add(e);
                    f = v1.lanewise(VectorOperators.LSHR, 8).and(low).mul(x2).add(f);
                    od = v.lanewise(VectorOperators.LSHR, 12).mul(x3).add(od);
                    fd = v1.lanewise(VectorOperators.LSHR, 12).mul(x3).add(fd);
                    e2 = u.lanewise(VectorOperators.LSHR, 8).and(low).mul(x6).add(e2);
                    f2 = u1.lanewise(VectorOperators.LSHR, 8).and(low).mul(x6).add(f2);
                    od2 = u.lanewise(VectorOperators.LSHR, 12).mul(x7).add(od2);
                    fd2 = u1.lanewise(VectorOperators.LSHR, 12).mul(x7).add(fd2);
                }
                IntVector ei = e.add(e2).reinterpretAsInts(), oi = od.add(od2).reinterpretAsInts();
                IntVector fi = f.add(f2).reinterpretAsInts(), pi = fd.add(fd2).reinterpretAsInts();
                IntVector se = ei.lanewise(VectorOperators.ASHR, 16).add(ei.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector so = oi.lanewise(VectorOperators.ASHR, 16).add(oi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector se1 = fi.lanewise(VectorOperators.ASHR, 16).add(fi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector so1 = pi.lanewise(VectorOperators.ASHR, 16).add(pi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                IntVector sm = IntVector.fromMemorySegment(I, p, m + 64L * g, LE), sm1 = IntVector.fromMemorySegment(I, p, m1 + 64L * g, LE);
                blk = ((FloatVector) se.castShape(F, 0)).fma((FloatVector) sm.and(bytes).castShape(F, 0), blk);
                blk = ((FloatVector) so.castShape(F, 0)).fma((FloatVector) sm.lanewise(VectorOperators.LSHR, 8).and(bytes).castShape(F, 0), blk);
                blk1 = ((FloatVector) se1.castShape(F, 0)).fma((FloatVector) sm1.and(bytes).castShape(F, 0), blk1);
                blk1 = ((FloatVector) so1.castShape(F, 0)).fma((FloatVector) sm1.lanewise(VectorOperators.LSHR, 8).and(bytes).castShape(F, 0), blk1);
            }
            total = blk.mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m + 256, LE), total);
            total1 = blk1.mul(xd[c >> 8]).fma(FloatVector.fromMemorySegment(F, p, m1 + 256, LE), total1);
        }
        total.intoArray(out, o);
        total1.intoArray(out, o1);
    }
}
