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
 * 8 KiB) XOR a sign mask (256 sign bytes x 8 lanes, 8 KiB), plus the ±¼ shift; an E8Root8 point is one load from its
 * 8 KiB table. Everything stays in L1. See {@link ScalarE8Kernels} for the order of operations both follow. The dot
 * product sums its 8 partial sums with {@link LaneSum} (one fixed order), so it has the same bits in every JIT tier.
 *
 * <p>Each stage layout (1: R8, 2: P16, 3: P16 + R8, 4: P16 + P16) has its own loop, so that every vector has a
 * single definition and the JIT keeps them all in registers (a vector merged from two code paths gets boxed).
 */
final class VectorE8Kernels implements E8Kernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final E8P16 P16 = E8P16.INSTANCE;
    /** [256][8] E8P16 absolute values as float bits. */
    private static final int[] ABS_BITS = new int[256 * 8];
    /** [256 sign bytes][8] the float sign bit of lane i: ((s >>> i) & 1) << 31. */
    private static final int[] SIGN_MASK = new int[256 * 8];
    private static final float[] R8 = E8Root8.INSTANCE.points;

    static {
        for (int i = 0; i < ABS_BITS.length; i++) ABS_BITS[i] = Float.floatToRawIntBits(P16.abs[i]);
        for (int s = 0; s < 256; s++) {
            for (int i = 0; i < 8; i++) SIGN_MASK[s * 8 + i] = ((s >>> i) & 1) << 31;
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    /** The unit-scale E8P16 point of the code stored at src[at]. */
    private static FloatVector p16(byte[] src, int at) {
        int code = E8Codec.code16(src, at);
        IntVector a = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3);
        IntVector m = IntVector.fromArray(I, SIGN_MASK, P16.signs(code) << 3);
        return a.lanewise(VectorOperators.XOR, m).reinterpretAsFloats().add(E8P16.shift(code));
    }

    /** The E8Root8 point of the code stored at src[at]. */
    private static FloatVector r8(byte[] src, int at) {
        return FloatVector.fromArray(F, R8, (src[at] & 0xff) << 3);
    }

    private static int layout(E8Codec c) {
        return c.codeBits();
    }

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
                case 1 -> {
                    for (; g < gEnd; g++) r8(src, c0 + g).mul(w0).intoArray(out, outOff + 8 * g);
                }
                case 2 -> {
                    for (; g < gEnd; g++) p16(src, c0 + 2 * g).mul(w0).intoArray(out, outOff + 8 * g);
                }
                case 3 -> {
                    FloatVector w1 = FloatVector.broadcast(F, s * c.weights[1]);
                    for (; g < gEnd; g++) {
                        r8(src, c1 + g).fma(w1, p16(src, c0 + 2 * g).mul(w0)).intoArray(out, outOff + 8 * g);
                    }
                }
                default -> {
                    FloatVector w1 = FloatVector.broadcast(F, s * c.weights[1]);
                    for (; g < gEnd; g++) {
                        p16(src, c1 + 2 * g).fma(w1, p16(src, c0 + 2 * g).mul(w0)).intoArray(out, outOff + 8 * g);
                    }
                }
            }
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
                case 1 -> {
                    FloatVector acc = FloatVector.zero(F);
                    for (; g < gEnd; g++) acc = r8(src, c0 + g).fma(FloatVector.fromArray(F, q, qOff + 8 * g), acc);
                    total += s * c.weights[0] * LaneSum.sum(acc);
                }
                case 2 -> {
                    FloatVector acc = FloatVector.zero(F);
                    for (; g < gEnd; g++) acc = p16(src, c0 + 2 * g).fma(FloatVector.fromArray(F, q, qOff + 8 * g), acc);
                    total += s * c.weights[0] * LaneSum.sum(acc);
                }
                case 3 -> {
                    FloatVector acc0 = FloatVector.zero(F);
                    FloatVector acc1 = FloatVector.zero(F);
                    for (; g < gEnd; g++) {
                        FloatVector qv = FloatVector.fromArray(F, q, qOff + 8 * g);
                        acc0 = p16(src, c0 + 2 * g).fma(qv, acc0);
                        acc1 = r8(src, c1 + g).fma(qv, acc1);
                    }
                    total += s * c.weights[0] * LaneSum.sum(acc0);
                    total += s * c.weights[1] * LaneSum.sum(acc1);
                }
                default -> {
                    FloatVector acc0 = FloatVector.zero(F);
                    FloatVector acc1 = FloatVector.zero(F);
                    for (; g < gEnd; g++) {
                        FloatVector qv = FloatVector.fromArray(F, q, qOff + 8 * g);
                        acc0 = p16(src, c0 + 2 * g).fma(qv, acc0);
                        acc1 = p16(src, c1 + 2 * g).fma(qv, acc1);
                    }
                    total += s * c.weights[0] * LaneSum.sum(acc0);
                    total += s * c.weights[1] * LaneSum.sum(acc1);
                }
            }
        }
        return total;
    }

    @Override
    public void axpy(E8Codec c, float w, byte[] src, int off, float[] acc, int accOff) {
        int c0 = off + c.codeOffset[0];
        int c1 = c.books.length > 1 ? off + c.codeOffset[1] : 0;
        int layout = layout(c);
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            FloatVector ws0 = FloatVector.broadcast(F, w * s * c.weights[0]);
            int g = k * c.groupsPerScale;
            int gEnd = g + c.groupsPerScale;
            switch (layout) {
                case 1 -> {
                    for (; g < gEnd; g++) {
                        int at = accOff + 8 * g;
                        r8(src, c0 + g).fma(ws0, FloatVector.fromArray(F, acc, at)).intoArray(acc, at);
                    }
                }
                case 2 -> {
                    for (; g < gEnd; g++) {
                        int at = accOff + 8 * g;
                        p16(src, c0 + 2 * g).fma(ws0, FloatVector.fromArray(F, acc, at)).intoArray(acc, at);
                    }
                }
                case 3 -> {
                    FloatVector ws1 = FloatVector.broadcast(F, w * s * c.weights[1]);
                    for (; g < gEnd; g++) {
                        int at = accOff + 8 * g;
                        FloatVector a = p16(src, c0 + 2 * g).fma(ws0, FloatVector.fromArray(F, acc, at));
                        r8(src, c1 + g).fma(ws1, a).intoArray(acc, at);
                    }
                }
                default -> {
                    FloatVector ws1 = FloatVector.broadcast(F, w * s * c.weights[1]);
                    for (; g < gEnd; g++) {
                        int at = accOff + 8 * g;
                        FloatVector a = p16(src, c0 + 2 * g).fma(ws0, FloatVector.fromArray(F, acc, at));
                        p16(src, c1 + 2 * g).fma(ws1, a).intoArray(acc, at);
                    }
                }
            }
        }
    }

    @Override
    public E8Encoder encoder(E8Codec c) {
        return new VectorE8Encoder(c);
    }
}
