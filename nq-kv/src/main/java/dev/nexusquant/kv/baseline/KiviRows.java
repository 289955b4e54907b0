package dev.nexusquant.kv.baseline;

import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

/**
 * KIVI (Liu et al., "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache", ICML 2024): asymmetric
 * min/max integer quantization at {@code bits} bits, keys per CHANNEL over groups of {@value #GROUP} tokens, values per
 * TOKEN over groups of {@value #GROUP} channels (fewer when head_dim is smaller); each group stores an fp16 scale and
 * an fp16 minimum. Used with the cache's fp16 recent window as KIVI's residual and block = 32 tokens.
 */
public record KiviRows(int dim, int bits, boolean perChannel) implements RowCodec {

    public static final int GROUP = 32;

    public KiviRows {
        if (bits < 1 || bits > 8) throw new IllegalArgumentException("KIVI bits must be 1..8: " + bits);
        if (!perChannel && dim % Math.min(GROUP, dim) != 0) {
            throw new IllegalArgumentException("KIVI value groups need head_dim a multiple of 32: " + dim);
        }
    }

    private int channelGroup() {
        return Math.min(GROUP, dim);
    }

    /** Number of (scale, min) pairs for n rows. */
    private long groups(int n) {
        if (perChannel) return (long) ((n + GROUP - 1) / GROUP) * dim;
        return (long) n * (dim / channelGroup());
    }

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        long g = groups(n);
        short[] scale = new short[(int) g];
        short[] min = new short[(int) g];
        byte[] q = new byte[BitPacking.bytesFor((long) n * dim, bits)];
        int levels = (1 << bits) - 1;
        if (perChannel) {
            int gi = 0;
            for (int t0 = 0; t0 < n; t0 += GROUP) {
                int tn = Math.min(GROUP, n - t0);
                for (int c = 0; c < dim; c++, gi++) {
                    float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                    for (int t = t0; t < t0 + tn; t++) {
                        float x = rows[off + t * dim + c];
                        lo = Math.min(lo, x);
                        hi = Math.max(hi, x);
                    }
                    float[] sm = store(scale, min, gi, lo, hi, levels);
                    for (int t = t0; t < t0 + tn; t++) {
                        BitPacking.put(q, (long) t * dim + c, bits, code(rows[off + t * dim + c], sm, levels));
                    }
                }
            }
        } else {
            int cg = channelGroup();
            int gi = 0;
            for (int t = 0; t < n; t++) {
                for (int c0 = 0; c0 < dim; c0 += cg, gi++) {
                    float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                    for (int c = c0; c < c0 + cg; c++) {
                        float x = rows[off + t * dim + c];
                        lo = Math.min(lo, x);
                        hi = Math.max(hi, x);
                    }
                    float[] sm = store(scale, min, gi, lo, hi, levels);
                    for (int c = c0; c < c0 + cg; c++) {
                        BitPacking.put(q, (long) t * dim + c, bits, code(rows[off + t * dim + c], sm, levels));
                    }
                }
            }
        }
        return new Block(q, scale, min, n, this);
    }

    /** Stores the group's scale and minimum as fp16 and returns them as they will be decoded. */
    private static float[] store(short[] scale, short[] min, int gi, float lo, float hi, int levels) {
        short s = Float.floatToFloat16((hi - lo) / levels);
        short m = Float.floatToFloat16(lo);
        scale[gi] = s;
        min[gi] = m;
        return new float[]{Float.float16ToFloat(s), Float.float16ToFloat(m)};
    }

    private static int code(float x, float[] sm, int levels) {
        if (sm[0] <= 0f) return 0;
        int q = Math.round((x - sm[1]) / sm[0]);
        return Math.max(0, Math.min(levels, q));
    }

    @Override
    public long bytesFor(int n) {
        return BitPacking.bytesFor((long) n * dim, bits) + 4L * groups(n);
    }

    @Override
    public String describe() {
        return "kivi" + bits + (perChannel ? "k" : "v");
    }

    /** q: packed codes [rows][dim]; scale, min: fp16 per group (keys: [tokenGroup][dim], values: [row][dim/32]) */
    private record Block(byte[] q, short[] scale, short[] min, int n, KiviRows codec) implements EncodedRows {
        @Override
        public int rows() {
            return n;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int dim = codec.dim;
            int cg = codec.channelGroup();
            for (int t = from; t < from + count; t++) {
                for (int c = 0; c < dim; c++) {
                    int gi = codec.perChannel ? (t / GROUP) * dim + c : t * (dim / cg) + c / cg;
                    float s = Float.float16ToFloat(scale[gi]);
                    float m = Float.float16ToFloat(min[gi]);
                    out[outOff + (t - from) * dim + c] = m + s * BitPacking.get(q, (long) t * dim + c, codec.bits);
                }
            }
        }

        @Override
        public long bytes() {
            return q.length + 2L * scale.length + 2L * min.length;
        }
    }
}
