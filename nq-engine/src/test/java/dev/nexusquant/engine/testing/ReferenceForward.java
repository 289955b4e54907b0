package dev.nexusquant.engine.testing;

import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.engine.model.ModelConfig;
import dev.nexusquant.engine.tensor.Quants;

/**
 * A plain forward pass, written from the definitions and nothing else of the engine but its format decoders: every
 * tensor decoded to floats with {@link Quants#dequantize}, all arithmetic in double, one token after the other, full
 * causal attention over every earlier position. Slow and obviously right; the engine's optimized pass is tested
 * against it.
 */
public final class ReferenceForward {

    private final ModelConfig c;
    private final GgufFile f;

    public ReferenceForward(GgufFile f) throws GgufException {
        this.f = f;
        this.c = ModelConfig.fromGguf(f);
    }

    public ModelConfig config() {
        return c;
    }

    private float[] t(String name) {
        GgufTensorInfo info = f.tensor(name);
        if (info == null) throw new IllegalArgumentException("missing " + name);
        float[] v = new float[(int) info.elements()];
        Quants.dequantize(info.type(), info.data(), 0, v, 0, v.length);
        return v;
    }

    /** Logits {@code [tokens.length][vocab]} of every position of {@code tokens}, starting at position 0. */
    public float[][] logits(int[] tokens) {
        int dim = c.dim(), hd = c.headDim(), heads = c.heads(), kvHeads = c.kvHeads(), ffn = c.ffnDim();
        int qDim = heads * hd, kvDim = kvHeads * hd, n = tokens.length, group = heads / kvHeads;
        float[] emb = t("token_embd.weight");
        double[][] x = new double[n][dim];
        for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) x[i][j] = emb[tokens[i] * dim + j];
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            float[] wq = t(p + "attn_q.weight"), wk = t(p + "attn_k.weight"), wv = t(p + "attn_v.weight"), wo = t(p + "attn_output.weight");
            float[] an = t(p + "attn_norm.weight"), fn = t(p + "ffn_norm.weight");
            float[] wg = t(p + "ffn_gate.weight"), wu = t(p + "ffn_up.weight"), wd = t(p + "ffn_down.weight");
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int i = 0; i < n; i++) {
                double[] xn = rmsnorm(x[i], an);
                q[i] = matvec(wq, xn, qDim);
                k[i] = matvec(wk, xn, kvDim);
                v[i] = matvec(wv, xn, kvDim);
                if (c.qkvBias()) {
                    addBias(q[i], t(p + "attn_q.bias"));
                    addBias(k[i], t(p + "attn_k.bias"));
                    addBias(v[i], t(p + "attn_v.bias"));
                }
                rope(q[i], heads, i);
                rope(k[i], kvHeads, i);
            }
            for (int i = 0; i < n; i++) {
                double[] att = new double[qDim];
                for (int h = 0; h < heads; h++) {
                    int kh = h / group;
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double d = 0;
                        for (int e = 0; e < hd; e++) d += q[i][h * hd + e] * k[j][kh * hd + e];
                        s[j] = d / Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < hd; e++) att[h * hd + e] += s[j] / sum * v[j][kh * hd + e];
                    }
                }
                double[] o = matvec(wo, att, dim);
                for (int j = 0; j < dim; j++) x[i][j] += o[j];
                double[] xn = rmsnorm(x[i], fn);
                double[] g = matvec(wg, xn, ffn), u = matvec(wu, xn, ffn);
                for (int j = 0; j < ffn; j++) g[j] = g[j] / (1 + Math.exp(-g[j])) * u[j];
                double[] dn = matvec(wd, g, dim);
                for (int j = 0; j < dim; j++) x[i][j] += dn[j];
            }
        }
        float[] on = t("output_norm.weight");
        float[] out = c.tiedOutput() ? emb : t("output.weight");
        float[][] logits = new float[n][];
        for (int i = 0; i < n; i++) {
            double[] lg = matvec(out, rmsnorm(x[i], on), c.vocabSize());
            logits[i] = new float[lg.length];
            for (int j = 0; j < lg.length; j++) logits[i][j] = (float) lg[j];
        }
        return logits;
    }

    private double[] rmsnorm(double[] x, float[] g) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double s = 1.0 / Math.sqrt(ss / x.length + c.rmsEps());
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) o[i] = x[i] * s * g[i];
        return o;
    }

    /** out[r] = W[r] . x, W stored [rows][x.length]. */
    private static double[] matvec(float[] w, double[] x, int rows) {
        double[] o = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < x.length; j++) s += w[r * x.length + j] * x[j];
            o[r] = s;
        }
        return o;
    }

    private static void addBias(double[] v, float[] b) {
        for (int i = 0; i < v.length; i++) v[i] += b[i];
    }

    /** RoPE per {@link RopeSpec}: pair j rotated by (pos / scale) * base^(-2j / dims). */
    private void rope(double[] v, int heads, int pos) {
        RopeSpec r = c.rope();
        int hd = c.headDim(), half = r.rotaryDims() / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                double angle = pos / r.linearScale() * Math.pow(r.base(), -2.0 * j / r.rotaryDims());
                int a = r.style() == RopeSpec.Style.ADJACENT ? h * hd + 2 * j : h * hd + j;
                int b = r.style() == RopeSpec.Style.ADJACENT ? a + 1 : a + half;
                double x0 = v[a], x1 = v[b];
                v[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                v[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }
}
