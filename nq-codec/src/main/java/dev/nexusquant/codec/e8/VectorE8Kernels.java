package dev.nexusquant.codec.e8;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The read-side kernels with the Panama Vector API: one group of eight values is one 256-bit vector.
 *
 * <p>An E8P16 point is built in registers from two small tables: the absolute-value pattern (256 x 8 float bits,
 * 8 KiB) XOR a sign mask (256 sign bytes x 8 lanes, 8 KiB), plus the ±¼ shift; an E8Root8 point is one load from its
 * 8 KiB table. Everything stays in L1. See {@link ScalarE8Kernels} for the order of operations both follow.
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

    private static FloatVector p16(int code) {
        IntVector a = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3);
        IntVector m = IntVector.fromArray(I, SIGN_MASK, P16.signs(code) << 3);
        return a.lanewise(VectorOperators.XOR, m).reinterpretAsFloats().add(E8P16.shift(code));
    }

    private static FloatVector point(E8Codec c, int st, byte[] src, int off, int g) {
        if (c.books[st] == E8Codec.BOOK_P16) {
            return p16(E8Codec.code16(src, off + c.codeOffset[st] + 2 * g));
        }
        return FloatVector.fromArray(F, R8, (src[off + c.codeOffset[st] + g] & 0xff) << 3);
    }

    @Override
    public void decode(E8Codec c, byte[] src, int off, float[] out, int outOff) {
        boolean two = c.books.length > 1;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            float w0 = s * c.weights[0];
            float w1 = two ? s * c.weights[1] : 0f;
            for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                FloatVector v = point(c, 0, src, off, g).mul(w0);
                if (two) v = point(c, 1, src, off, g).fma(FloatVector.broadcast(F, w1), v);
                v.intoArray(out, outOff + 8 * g);
            }
        }
    }

    @Override
    public float dot(E8Codec c, float[] q, int qOff, byte[] src, int off) {
        boolean two = c.books.length > 1;
        float total = 0f;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                FloatVector qv = FloatVector.fromArray(F, q, qOff + 8 * g);
                acc0 = point(c, 0, src, off, g).fma(qv, acc0);
                if (two) acc1 = point(c, 1, src, off, g).fma(qv, acc1);
            }
            total += s * c.weights[0] * acc0.reduceLanes(VectorOperators.ADD);
            if (two) total += s * c.weights[1] * acc1.reduceLanes(VectorOperators.ADD);
        }
        return total;
    }

    @Override
    public void axpy(E8Codec c, float w, byte[] src, int off, float[] acc, int accOff) {
        boolean two = c.books.length > 1;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            float ws0 = w * s * c.weights[0];
            float ws1 = two ? w * s * c.weights[1] : 0f;
            for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                int at = accOff + 8 * g;
                FloatVector a = FloatVector.fromArray(F, acc, at);
                a = point(c, 0, src, off, g).fma(FloatVector.broadcast(F, ws0), a);
                if (two) a = point(c, 1, src, off, g).fma(FloatVector.broadcast(F, ws1), a);
                a.intoArray(acc, at);
            }
        }
    }
}
