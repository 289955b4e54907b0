package dev.nexusquant.codec.e8;

/** Plain loops: the reference for {@code VectorE8MixedKernels}, and the kernel used without the Vector API. */
final class ScalarE8MixedKernels implements E8MixedKernels {

    private static final E8P16 P16 = E8P16.INSTANCE;
    private static final float[] P16_ABS = P16.abs;
    private static final float[] R8 = E8Root8.INSTANCE.points;

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void decode(E8MixedCodec c, byte[] block, int off, float[] out, int outOff) {
        float s = Float.float16ToFloat((short) E8Codec.SHORT_LE.get(block, off));
        float[] p0 = new float[8], p1 = new float[8];
        for (int g = 0; g < c.groups; g++) {
            int r = c.rates[g];
            int o = outOff + 8 * g;
            if (r == 0) {
                for (int i = 0; i < 8; i++) out[o + i] = 0f;
                continue;
            }
            int at = off + c.codeAt[g];
            float w0 = s * c.step[g];
            switch (r) {
                case 1 -> r8(block[at] & 0xff, p0);
                default -> p16(E8Codec.code16(block, at), p0);
            }
            if (r <= 2) {
                for (int i = 0; i < 8; i++) out[o + i] = w0 * p0[i];
                continue;
            }
            float w1 = w0 * E8Codec.DEFAULT_WEIGHT[r];
            if (r == 3) r8(block[at + 2] & 0xff, p1);
            else p16(E8Codec.code16(block, at + 2), p1);
            for (int i = 0; i < 8; i++) out[o + i] = Math.fma(w1, p1[i], w0 * p0[i]);
        }
    }

    private static void r8(int code, float[] p) {
        System.arraycopy(R8, code * 8, p, 0, 8);
    }

    private static void p16(int code, float[] p) {
        int base = (code & 0xff) * 8;
        int signs = P16.signs(code);
        float t = E8P16.shift(code);
        for (int i = 0; i < 8; i++) {
            p[i] = Float.intBitsToFloat(Float.floatToRawIntBits(P16_ABS[base + i]) ^ (((signs >>> i) & 1) << 31)) + t;
        }
    }
}
