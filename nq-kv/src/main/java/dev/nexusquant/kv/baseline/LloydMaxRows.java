package dev.nexusquant.kv.baseline;

import dev.nexusquant.kv.rows.EncodedRows;
import dev.nexusquant.kv.rows.RowCodec;

/**
 * TurboQuant-style rows (Zandieh et al., "TurboQuant: Online Vector Quantization with Near-optimal Distortion Rate",
 * 2025): after the cache's random rotation every coordinate of a row is close to Gaussian with variance
 * {@code |x|^2 / dim}, so each row stores its norm (fp16) and every coordinate is quantized with the Lloyd-Max levels
 * of a unit Gaussian at {@code hiBits} bits for the first {@code hiCount} coordinates and {@code hiBits - 1} for the
 * rest (2.5 bits = half at 3, half at 2). Without the rotation this is a plain Lloyd-Max scalar quantizer.
 */
public record LloydMaxRows(int dim, int hiBits, int hiCount) implements RowCodec {

    public LloydMaxRows {
        if (hiBits < 2 || hiBits > 8) throw new IllegalArgumentException("Lloyd-Max bits must be 2..8: " + hiBits);
        if (hiCount < 0 || hiCount > dim) throw new IllegalArgumentException("bad high-rate count " + hiCount);
    }

    /** Bits of the codes of one row. */
    int rowBits() {
        return hiCount * hiBits + (dim - hiCount) * (hiBits - 1);
    }

    @Override
    public EncodedRows encode(float[] rows, int off, int n) {
        float[] lvHi = LloydMax.levels(hiBits);
        float[] lvLo = LloydMax.levels(hiBits - 1);
        byte[] q = new byte[BitPacking.bytesFor((long) n * rowBits(), 1)];
        short[] norm = new short[n];
        float rs = (float) Math.sqrt(dim);
        for (int t = 0; t < n; t++) {
            int o = off + t * dim;
            double ss = 0;
            for (int c = 0; c < dim; c++) ss += rows[o + c] * (double) rows[o + c];
            short nh = Float.floatToFloat16((float) Math.sqrt(ss));
            norm[t] = nh;
            float nf = Float.float16ToFloat(nh);
            float inv = nf > 0 ? rs / nf : 0f;
            long bit = (long) t * rowBits();
            for (int c = 0; c < dim; c++) {
                boolean hi = c < hiCount;
                float[] lv = hi ? lvHi : lvLo;
                int b = hi ? hiBits : hiBits - 1;
                int code = LloydMax.nearest(lv, rows[o + c] * inv);
                for (int k = 0; k < b; k++, bit++) {
                    if (((code >>> k) & 1) != 0) q[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
                }
            }
        }
        return new Block(q, norm, this);
    }

    @Override
    public long bytesFor(int n) {
        return BitPacking.bytesFor((long) n * rowBits(), 1) + 2L * n;
    }

    @Override
    public String describe() {
        double bits = rowBits() / (double) dim;
        return "tq" + bits;
    }

    /** q: packed codes, rowBits() bits per row; norm: [rows] fp16 */
    private record Block(byte[] q, short[] norm, LloydMaxRows codec) implements EncodedRows {
        @Override
        public int rows() {
            return norm.length;
        }

        @Override
        public void decode(int from, int count, float[] out, int outOff) {
            int dim = codec.dim;
            float[] lvHi = LloydMax.levels(codec.hiBits);
            float[] lvLo = LloydMax.levels(codec.hiBits - 1);
            float rs = (float) Math.sqrt(dim);
            for (int t = from; t < from + count; t++) {
                float scale = Float.float16ToFloat(norm[t]) / rs;
                long bit = (long) t * codec.rowBits();
                for (int c = 0; c < dim; c++) {
                    boolean hi = c < codec.hiCount;
                    int b = hi ? codec.hiBits : codec.hiBits - 1;
                    int code = 0;
                    for (int k = 0; k < b; k++, bit++) code |= ((q[(int) (bit >>> 3)] >>> (bit & 7)) & 1) << k;
                    out[outOff + (t - from) * dim + c] = (hi ? lvHi : lvLo)[code] * scale;
                }
            }
        }

        @Override
        public long bytes() {
            return q.length + 2L * norm.length;
        }
    }
}
