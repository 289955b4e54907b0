package dev.nexusquant.codec.e8;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link E8MixedKernels} with the Panama Vector API: one group of eight values is one 256-bit vector; an E8P16 point
 * is built from {@link VectorE8Kernels}'s two tables (absolute values XOR signs, plus the ±¼ shift), an E8Root8 point
 * is one table load. Each rate has its own method that takes and returns only scalars and arrays, so that no vector
 * crosses a call the JIT might leave out of line (it would be boxed).
 */
final class VectorE8MixedKernels implements E8MixedKernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int[] ABS_BITS = VectorE8Kernels.ABS_BITS;
    private static final int[] SIGN7 = VectorE8Kernels.SIGN7;
    private static final float[] R8 = E8Root8.INSTANCE.points;

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public void decode(E8MixedCodec c, byte[] block, int off, float[] out, int outOff) {
        float s = Float.float16ToFloat((short) E8Codec.SHORT_LE.get(block, off));
        for (int g = 0; g < c.groups; g++) {
            int r = c.rates[g];
            int o = outOff + 8 * g;
            int at = off + c.codeAt[g];
            float w0 = s * c.step[g];
            switch (r) {
                case 0 -> FloatVector.zero(F).intoArray(out, o);
                case 1 -> rate1(block, at, w0, out, o);
                case 2 -> rate2(block, at, w0, out, o);
                case 3 -> rate3(block, at, w0, w0 * E8Codec.DEFAULT_WEIGHT[3], out, o);
                default -> rate4(block, at, w0, w0 * E8Codec.DEFAULT_WEIGHT[4], out, o);
            }
        }
    }

    private static void rate1(byte[] block, int at, float w0, float[] out, int o) {
        FloatVector.fromArray(F, R8, (block[at] & 0xff) << 3).mul(w0).intoArray(out, o);
    }

    private static void rate2(byte[] block, int at, float w0, float[] out, int o) {
        int code = E8Codec.code16(block, at);
        FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                .reinterpretAsFloats().add(VectorE8Kernels.shift(code));
        p.mul(w0).intoArray(out, o);
    }

    private static void rate3(byte[] block, int at, float w0, float w1, float[] out, int o) {
        int code = E8Codec.code16(block, at);
        FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                .reinterpretAsFloats().add(VectorE8Kernels.shift(code));
        FloatVector q = FloatVector.fromArray(F, R8, (block[at + 2] & 0xff) << 3);
        q.fma(FloatVector.broadcast(F, w1), p.mul(w0)).intoArray(out, o);
    }

    private static void rate4(byte[] block, int at, float w0, float w1, float[] out, int o) {
        int code = E8Codec.code16(block, at);
        FloatVector p = IntVector.fromArray(I, ABS_BITS, (code & 0xff) << 3)
                .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code >>> 8 & 0x7f) << 3))
                .reinterpretAsFloats().add(VectorE8Kernels.shift(code));
        int code1 = E8Codec.code16(block, at + 2);
        FloatVector q = IntVector.fromArray(I, ABS_BITS, (code1 & 0xff) << 3)
                .lanewise(VectorOperators.XOR, IntVector.fromArray(I, SIGN7, (code1 >>> 8 & 0x7f) << 3))
                .reinterpretAsFloats().add(VectorE8Kernels.shift(code1));
        q.fma(FloatVector.broadcast(F, w1), p.mul(w0)).intoArray(out, o);
    }
}
