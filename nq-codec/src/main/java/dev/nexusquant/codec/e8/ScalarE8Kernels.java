package dev.nexusquant.codec.e8;

/**
 * Plain loops over groups and stages: the reference for {@link VectorE8Kernels}, and the kernels used when the
 * Vector API is absent.
 *
 * <p>Decoding computes, per value, {@code w0 * c0} and then {@code fma(w1, c1, that)} with {@code w_st = scale *
 * weight_st}; axpy computes {@code fma(w * scale * weight_st, c_st, acc)} stage by stage: the same operations in the
 * same order as the vector kernel, so decoded and accumulated values are bit-identical. The dot product sums in a
 * different order (the vector kernel keeps 8 partial sums), so it agrees to float rounding.
 */
final class ScalarE8Kernels implements E8Kernels {

    private static final E8P16 P16 = E8P16.INSTANCE;
    private static final float[] P16_ABS = P16.abs;
    private static final float[] R8 = E8Root8.INSTANCE.points;

    @Override
    public String name() {
        return "scalar";
    }

    /** Writes the unit-scale point of group g, stage st, to p[0..8). */
    private static void point(E8Codec c, int st, byte[] src, int off, int g, float[] p) {
        if (c.books[st] == E8Codec.BOOK_P16) {
            int code = E8Codec.code16(src, off + c.codeOffset[st] + 2 * g);
            int base = (code & 0xff) * 8;
            int signs = P16.signs(code);
            float t = E8P16.shift(code);
            for (int i = 0; i < 8; i++) {
                p[i] = Float.intBitsToFloat(Float.floatToRawIntBits(P16_ABS[base + i]) ^ (((signs >>> i) & 1) << 31)) + t;
            }
        } else {
            System.arraycopy(R8, (src[off + c.codeOffset[st] + g] & 0xff) * 8, p, 0, 8);
        }
    }

    @Override
    public void decode(E8Codec c, byte[] src, int off, float[] out, int outOff) {
        float[] p0 = new float[8];
        float[] p1 = new float[8];
        boolean two = c.books.length > 1;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            float w0 = s * c.weights[0];
            float w1 = two ? s * c.weights[1] : 0f;
            for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                point(c, 0, src, off, g, p0);
                if (two) point(c, 1, src, off, g, p1);
                for (int i = 0; i < 8; i++) {
                    float v = w0 * p0[i];
                    if (two) v = Math.fma(w1, p1[i], v);
                    out[outOff + 8 * g + i] = v;
                }
            }
        }
    }

    @Override
    public float dot(E8Codec c, float[] q, int qOff, byte[] src, int off) {
        float[] p = new float[8];
        float total = 0f;
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            for (int st = 0; st < c.books.length; st++) {
                float acc = 0f;
                for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                    point(c, st, src, off, g, p);
                    for (int i = 0; i < 8; i++) {
                        acc += q[qOff + 8 * g + i] * p[i];
                    }
                }
                total += s * c.weights[st] * acc;
            }
        }
        return total;
    }

    @Override
    public void axpy(E8Codec c, float w, byte[] src, int off, float[] acc, int accOff) {
        float[] p = new float[8];
        for (int k = 0; k < c.scaleGroups; k++) {
            float s = c.scale(src, off, k);
            for (int st = 0; st < c.books.length; st++) {
                float ws = w * s * c.weights[st];
                for (int g = k * c.groupsPerScale, gEnd = g + c.groupsPerScale; g < gEnd; g++) {
                    point(c, st, src, off, g, p);
                    for (int i = 0; i < 8; i++) {
                        acc[accOff + 8 * g + i] = Math.fma(ws, p[i], acc[accOff + 8 * g + i]);
                    }
                }
            }
        }
    }

    @Override
    public E8Encoder encoder(E8Codec c) {
        return new ScalarE8Encoder(c);
    }
}
