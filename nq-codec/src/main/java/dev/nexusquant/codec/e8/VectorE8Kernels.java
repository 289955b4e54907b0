package dev.nexusquant.codec.e8;

import dev.nexusquant.vector.LaneSum;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The read-side kernels with the Panama Vector API: one group of eight values is one 256-bit vector.
 *
 * <p>An E8P16 point is built in registers from two small tables: the absolute-value pattern (256 x 8 float bits,
 * 8 KiB) XOR a sign mask (the 7 stored sign bits x 8 lanes, 4 KiB; the implied sign of coordinate 7 comes out of the
 * XOR of the two tables' lane 7, one holding the pattern's parity, the other the parity of the stored signs), plus
 * the ±¼ shift made from the code's top bit; an E8Root8 point is one load from its 8 KiB table. Everything stays in
 * L1, and no scalar work but the index arithmetic is left per point. See {@link ScalarE8Kernels} for the order of operations both follow. The dot
 * product sums its 8 partial sums with {@link LaneSum} (one fixed order), so it has the same bits in every JIT tier.
 *
 * <p>Each stage layout (1: R8, 2: P16, 3: P16 + R8, 4: P16 + P16) has its own loop, so that every vector has a
 * single definition and the JIT keeps them all in registers (a vector merged from two code paths gets boxed).
 */
final class VectorE8Kernels implements E8Kernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /**
     * [256][8] E8P16 absolute values as float bits, lane 7 carrying the pattern's parity as its sign bit: XORed with
     * {@link #SIGN7}'s lane 7 (the parity of the seven stored signs) it gives the implied sign of coordinate 7.
     */
    static final int[] ABS_BITS = new int[256 * 8];
    /** [128 stored sign bits][8] the float sign bit of lanes 0..6, and the parity of the seven signs in lane 7. */
    static final int[] SIGN7 = new int[128 * 8];
    private static final float[] R8 = E8Root8.INSTANCE.points;

    static {
        E8P16 p16 = E8P16.INSTANCE;
        for (int a = 0; a < 256; a++) {
            for (int i = 0; i < 8; i++) ABS_BITS[a * 8 + i] = Float.floatToRawIntBits(p16.abs[a * 8 + i]);
            ABS_BITS[a * 8 + 7] ^= (p16.parity[a] & 1) << 31;
        }
        for (int s = 0; s < 128; s++) {
            for (int i = 0; i < 7; i++) SIGN7[s * 8 + i] = ((s >>> i) & 1) << 31;
            SIGN7[s * 8 + 7] = (Integer.bitCount(s) & 1) << 31;
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    /** The E8P16 shift of a code: +1/4, or -1/4 when bit 15 is set (the bit moved to the float's sign). */
    static float shift(int code) {
        return Float.intBitsToFloat(0x3e800000 | (code & 0x8000) << 16);
    }

    private static int layout(E8Codec c) {
        return c.codeBits();
    }

    // Each loop below builds its points in place (the E8P16 point: absolute values XOR sign mask, plus the shift; the
    // E8Root8 point: one table load) rather than through a helper that returns a vector: a helper the JIT leaves out
    // of line boxes every vector it returns, and whether C2 inlines it depends on how much it has inlined into the
    // caller already (it varied between runs of the same jar). The public methods pass only scalars and arrays to the
    // per-layout loops, so nothing is boxed whatever C2 decides about those calls.

    @Override
    public void decode(E8Codec c, byte[] src, int off, float[] out, int outOff) {
        int c0 = off + c.codeOffset[0];
        int c1 = c.books.length > 1 ? off + c.codeOffset[1] : 0;
        int layout = layout(c);
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            float w0 = s * c.weights[0];
            int g = k * c.groupsPerScale;
            int gEnd = g + c.groupsPerScale;
            switch (layout) {
                case 1 -> decodeR8(src, c0, g, gEnd, w0, out, outOff);
                case 2 -> decodeP16(src, c0, g, gEnd, w0, out, outOff);
                case 3 -> decodeP16R8(src, c0, c1, g, gEnd, w0, s * c.weights[1], out, outOff);
                default -> decodeP16P16(src, c0, c1, g, gEnd, w0, s * c.weights[1], out, outOff);
            }
        }
    }

    /** out[8g..) = w0 * R8(code g) for groups [g, gEnd). */
    private static void decodeR8(byte[] src, int c0, int g, int gEnd, float w0, float[] out, int outOff) {
        for (; g < gEnd; g++) {
            FloatVector.fromArray(F, R8, (src[c0 + g] & 0xff) << 3).mul(w0).intoArray(out, outOff + 8 * g);
        }
    }

    /** out[8g..) = w0 * P16(code g) for groups [g, gEnd). */
    private static void decodeP16(byte[] src, int c0, int g, int gEnd, float w0, float[] out, int outOff) {
        for (; g < gEnd; g++) {
            int code = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code));
            p.mul(w0).intoArray(out, outOff + 8 * g);
        }
    }

    /** out[8g..) = fma(w1, R8(code1 g), w0 * P16(code0 g)) for groups [g, gEnd). */
    private static void decodeP16R8(byte[] src, int c0, int c1, int g, int gEnd, float w0, float w1s, float[] out,
                                    int outOff) {
        FloatVector w1 = FloatVector.broadcast(F, w1s);
        for (; g < gEnd; g++) {
            int code = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code));
            FloatVector r = FloatVector.fromArray(F, R8, (src[c1 + g] & 0xff) << 3);
            r.fma(w1, p.mul(w0)).intoArray(out, outOff + 8 * g);
        }
    }

    /** out[8g..) = fma(w1, P16(code1 g), w0 * P16(code0 g)) for groups [g, gEnd). */
    private static void decodeP16P16(byte[] src, int c0, int c1, int g, int gEnd, float w0, float w1s, float[] out,
                                     int outOff) {
        FloatVector w1 = FloatVector.broadcast(F, w1s);
        for (; g < gEnd; g++) {
            int code0 = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p0 = IntVector.fromArray(I, ABS_BITS, (code0 & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code0 >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code0));
            int code1 = E8Codec.code16(src, c1 + 2 * g);
            FloatVector p1 = IntVector.fromArray(I, ABS_BITS, (code1 & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code1 >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code1));
            p1.fma(w1, p0.mul(w0)).intoArray(out, outOff + 8 * g);
        }
    }

    @Override
    public float dot(E8Codec c, float[] q, int qOff, byte[] src, int off) {
        int c0 = off + c.codeOffset[0];
        int c1 = c.books.length > 1 ? off + c.codeOffset[1] : 0;
        int layout = layout(c);
        float total = 0f;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            int g = k * c.groupsPerScale;
            int gEnd = g + c.groupsPerScale;
            switch (layout) {
                case 1 -> total += s * c.weights[0] * dotR8(q, qOff, src, c0, g, gEnd);
                case 2 -> total += s * c.weights[0] * dotP16(q, qOff, src, c0, g, gEnd);
                case 3 -> {
                    total += s * c.weights[0] * dotP16(q, qOff, src, c0, g, gEnd);
                    total += s * c.weights[1] * dotR8(q, qOff, src, c1, g, gEnd);
                }
                default -> {
                    total += s * c.weights[0] * dotP16(q, qOff, src, c0, g, gEnd);
                    total += s * c.weights[1] * dotP16(q, qOff, src, c1, g, gEnd);
                }
            }
        }
        return total;
    }

    /** Sum over groups [g, gEnd) of q[8g..) . R8(code g), the lanes summed by {@link LaneSum}. */
    private static float dotR8(float[] q, int qOff, byte[] src, int c, int g, int gEnd) {
        FloatVector acc = FloatVector.zero(F);
        for (; g < gEnd; g++) {
            acc = FloatVector.fromArray(F, R8, (src[c + g] & 0xff) << 3).fma(FloatVector.fromArray(F, q, qOff + 8 * g), acc);
        }
        return LaneSum.sum(acc);
    }

    /** Sum over groups [g, gEnd) of q[8g..) . P16(code g), the lanes summed by {@link LaneSum}. */
    private static float dotP16(float[] q, int qOff, byte[] src, int c, int g, int gEnd) {
        FloatVector acc = FloatVector.zero(F);
        for (; g < gEnd; g++) {
            int code = E8Codec.code16(src, c + 2 * g);
            FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code));
            acc = p.fma(FloatVector.fromArray(F, q, qOff + 8 * g), acc);
        }
        return LaneSum.sum(acc);
    }

    @Override
    public void axpy(E8Codec c, float w, byte[] src, int off, float[] acc, int accOff) {
        int c0 = off + c.codeOffset[0];
        int c1 = c.books.length > 1 ? off + c.codeOffset[1] : 0;
        int layout = layout(c);
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            float ws0 = w * s * c.weights[0];
            int g = k * c.groupsPerScale;
            int gEnd = g + c.groupsPerScale;
            switch (layout) {
                case 1 -> axpyR8(src, c0, g, gEnd, ws0, acc, accOff);
                case 2 -> axpyP16(src, c0, g, gEnd, ws0, acc, accOff);
                case 3 -> {
                    // per group: the P16 stage then the R8 stage, as the scalar twin orders them per value
                    axpyP16R8(src, c0, c1, g, gEnd, ws0, w * s * c.weights[1], acc, accOff);
                }
                default -> axpyP16P16(src, c0, c1, g, gEnd, ws0, w * s * c.weights[1], acc, accOff);
            }
        }
    }

    private static void axpyR8(byte[] src, int c0, int g, int gEnd, float ws0s, float[] acc, int accOff) {
        FloatVector ws0 = FloatVector.broadcast(F, ws0s);
        for (; g < gEnd; g++) {
            int at = accOff + 8 * g;
            FloatVector.fromArray(F, R8, (src[c0 + g] & 0xff) << 3).fma(ws0, FloatVector.fromArray(F, acc, at)).intoArray(acc, at);
        }
    }

    private static void axpyP16(byte[] src, int c0, int g, int gEnd, float ws0s, float[] acc, int accOff) {
        FloatVector ws0 = FloatVector.broadcast(F, ws0s);
        for (; g < gEnd; g++) {
            int at = accOff + 8 * g;
            int code = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code));
            p.fma(ws0, FloatVector.fromArray(F, acc, at)).intoArray(acc, at);
        }
    }

    private static void axpyP16R8(byte[] src, int c0, int c1, int g, int gEnd, float ws0s, float ws1s, float[] acc,
                                  int accOff) {
        FloatVector ws0 = FloatVector.broadcast(F, ws0s);
        FloatVector ws1 = FloatVector.broadcast(F, ws1s);
        for (; g < gEnd; g++) {
            int at = accOff + 8 * g;
            int code = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code));
            FloatVector a = p.fma(ws0, FloatVector.fromArray(F, acc, at));
            FloatVector.fromArray(F, R8, (src[c1 + g] & 0xff) << 3).fma(ws1, a).intoArray(acc, at);
        }
    }

    private static void axpyP16P16(byte[] src, int c0, int c1, int g, int gEnd, float ws0s, float ws1s, float[] acc,
                                   int accOff) {
        FloatVector ws0 = FloatVector.broadcast(F, ws0s);
        FloatVector ws1 = FloatVector.broadcast(F, ws1s);
        for (; g < gEnd; g++) {
            int at = accOff + 8 * g;
            int code0 = E8Codec.code16(src, c0 + 2 * g);
            FloatVector p0 = IntVector.fromArray(I, ABS_BITS, (code0 & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code0 >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code0));
            int code1 = E8Codec.code16(src, c1 + 2 * g);
            FloatVector p1 = IntVector.fromArray(I, ABS_BITS, (code1 & 0xff) << 3)
                    .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code1 >>> 8 & 0x7f) << 3))
                    .reinterpretAsFloats().add(shift(code1));
            FloatVector a = p0.fma(ws0, FloatVector.fromArray(F, acc, at));
            p1.fma(ws1, a).intoArray(acc, at);
        }
    }

    @Override
    public E8Encoder encoder(E8Codec c) {
        return new VectorE8Encoder(c);
    }
}
