package dev.nexusquant.bench;

import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.e8.E8MixedCodec;
import dev.nexusquant.codec.hadamard.HadamardRotation;
import dev.nexusquant.codec.klt.KltBasis;
import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.kv.ModelBasis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Hadamard rotation against a per-head KLT with rates by variance, at equal bytes, on real K/V rows: the rows of
 * chunks of a text as a model produces them (prompt = first half of each chunk), coded per (layer, KV head) and
 * compared with the exact rows. Budgets: the bytes per row of E8 codes at 1, 1.5, 2 and 3 code bits per value with one
 * fp16 scale (1.5: groups alternating 1 and 2 bits); KLT gets the same bytes per row for rows and basis together.
 * Metrics per (chunk, layer, head): relative MSE of the centred rows (error energy over the rows' variance), and the
 * attention-output error of the continuation's real queries (every 16th position of the second half, all query heads
 * of the group) attending over the prompt's rows: ||o' - o||² / ||o||², keys coded with exact values, or values coded
 * with exact keys. Printed: median and 10th/90th percentiles over (chunk, layer, head). Three transforms: Hadamard;
 * KLT fitted from the prompt's own rows (basis counted in the bytes); KLT per model ("klt-model"): the basis fitted
 * once from the rows the model produces from text it samples itself from BOS (seed 42, {@code -Dklt.gen=1024} tokens;
 * no data), stored beside the model and not counted in the rows' bytes (its size is printed on stderr).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.KltRows MODEL TEXT CTX CHUNK...</pre>
 */
public final class KltRows {

    /** Appends go to a dense cache; the rows and the continuation's queries are kept. */
    private static final class Recording implements KvCache {
        final KvCache dense;
        final KvLayout layout;
        final float[][] keys, values;   // [layers][tokens * kvDim]
        final List<float[]> queries = new ArrayList<>(); // layer-major: (layer, position, q[qDim])
        final List<int[]> queryAt = new ArrayList<>();   // [layer, position]
        final int from;

        Recording(KvLayout layout, int tokens, int from) {
            this.layout = layout;
            this.dense = new DenseKvCache(layout, DenseKvCache.Precision.FP32);
            this.keys = new float[layout.layers()][tokens * layout.kvDim()];
            this.values = new float[layout.layers()][tokens * layout.kvDim()];
            this.from = from;
        }

        @Override
        public KvLayout layout() {
            return layout;
        }

        @Override
        public void append(int layer, int n, int[] positions, float[] k, float[] v) {
            int d = layout.kvDim();
            for (int i = 0; i < n; i++) {
                System.arraycopy(k, i * d, keys[layer], positions[i] * d, d);
                System.arraycopy(v, i * d, values[layer], positions[i] * d, d);
            }
            dense.append(layer, n, positions, k, v);
        }

        @Override
        public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
            if (kvHead == 0) {
                synchronized (this) {
                    for (int i = 0; i < n; i++) {
                        if (positions[i] >= from && (positions[i] - from) % 16 == 0) {
                            queries.add(Arrays.copyOfRange(q, i * layout.qDim(), (i + 1) * layout.qDim()));
                            queryAt.add(new int[]{layer, positions[i]});
                        }
                    }
                }
            }
            dense.attend(layer, kvHead, n, positions, q, out);
        }

        @Override
        public long tokensSeen() {
            return dense.tokensSeen();
        }

        @Override
        public KvStats stats() {
            return dense.stats();
        }
    }

    /** One way to code rows: forward transform, codec, inverse; bytes of the transform's own state. */
    private record Coding(String name, VectorCompressor codec, java.util.function.BiConsumer<float[], Integer> forward,
                          java.util.function.BiConsumer<float[], Integer> inverse, long extraBytes) {
    }

    private static final double[] BITS = {1, 1.5, 2, 3};

    public static void main(String[] a) throws Exception {
        Locale.setDefault(Locale.ROOT);
        try (Model m = Model.load(Path.of(a[0]))) {
            int[] all = Perplexity.tokenizeFile(m, Path.of(a[1]));
            int ctx = Integer.parseInt(a[2]);
            KvLayout layout = m.kvLayout();
            int dim = layout.headDim(), half = ctx / 2;
            RopeSpec rs = layout.rope();
            Rope rope = new Rope(new RopeParams(rs.style() == RopeSpec.Style.ADJACENT ? RopeParams.Convention.ADJACENT
                    : RopeParams.Convention.HALVES, rs.base(), rs.linearScale(), rs.rotaryDims()), dim);
            Map<String, List<double[]>> results = new LinkedHashMap<>(); // setting -> [relMse, attnErr, bitsPerValue]
            // the per-model bases: rows the model produces from text it samples itself from BOS (no data)
            int genTokens = Integer.getInteger("klt.gen", 1024);
            // ModelBasis.fit samples the same tokens (seed 42) for both; only the key bases differ (RoPE undone or not)
            ModelBasis pre = ModelBasis.fit(m, genTokens, 42, true), post = ModelBasis.fit(m, genTokens, 42, false);
            modelBases = new KltBasis[layout.layers()][layout.kvHeads()][];
            for (int l = 0; l < layout.layers(); l++) {
                for (int h = 0; h < layout.kvHeads(); h++) {
                    modelBases[l][h] = new KltBasis[]{pre.keys(l, h), post.keys(l, h), pre.values(l, h)};
                }
            }
            long basisBytes = 0;
            for (KltBasis[][] x : modelBases) for (KltBasis[] y : x) for (KltBasis b : y) basisBytes += b.bytes();
            System.err.printf("per-model bases from %d sampled tokens: %d bytes (keys pre, keys post, values)%n", genTokens, basisBytes);
            for (int ai = 3; ai < a.length; ai++) {
                int chunk = Integer.parseInt(a[ai]);
                int[] tokens = Arrays.copyOfRange(all, chunk * ctx, (chunk + 1) * ctx);
                tokens[0] = m.tokenizer().bos();
                Recording rec = new Recording(layout, ctx, half);
                try (Session s = m.newSession(rec)) {
                    for (int at = 0; at < ctx; at += Session.MAX_BATCH) s.forward(tokens, at, Math.min(Session.MAX_BATCH, ctx - at), false);
                }
                long t0 = System.nanoTime();
                for (int l = 0; l < layout.layers(); l++) {
                    for (int h = 0; h < layout.kvHeads(); h++) {
                        measureHead(rec, l, h, layout, rope, half, results);
                    }
                }
                System.err.printf("chunk %d measured in %.1f s%n", chunk, (System.nanoTime() - t0) / 1e9);
            }
            System.out.printf("%s, %s, ctx %d, chunks %s: %d (chunk, layer, head) samples each%n", a[0], a[1], ctx,
                    String.join(" ", Arrays.copyOfRange(a, 3, a.length)), results.values().iterator().next().size());
            System.out.println("| rows | code bits | transform | bits/value (all counted) | rel. MSE median [p10, p90] | attention error median [p10, p90] |");
            System.out.println("|---|---|---|---|---|---|");
            for (var e : results.entrySet()) {
                List<double[]> r = e.getValue();
                String[] p = e.getKey().split("\\|");
                System.out.printf("| %s | %s | %s | %.3f | %s | %s |%n", p[0], p[1], p[2], mean(r, 2), quantiles(r, 0), quantiles(r, 1));
            }
        }
    }

    private static KltBasis[][][] modelBases; // [layers][kvHeads][keys pre, keys post, values]

    /** The first n rows of one head: keys pre-RoPE, keys as appended, values; each [n][dim]. */
    private static float[][] headRows(Recording rec, int l, int h, KvLayout layout, Rope rope, int n) {
        int dim = layout.headDim(), kvDim = layout.kvDim();
        float[] kPost = new float[n * dim], kPre = new float[n * dim], v = new float[n * dim];
        for (int t = 0; t < n; t++) {
            System.arraycopy(rec.keys[l], t * kvDim + h * dim, kPost, t * dim, dim);
            System.arraycopy(rec.values[l], t * kvDim + h * dim, v, t * dim, dim);
            System.arraycopy(kPost, t * dim, kPre, t * dim, dim);
            rope.inverse(kPre, t * dim, t);
        }
        return new float[][]{kPre, kPost, v};
    }

    private static void measureHead(Recording rec, int l, int h, KvLayout layout, Rope rope, int n,
                                    Map<String, List<double[]>> results) {
        int dim = layout.headDim(), group = layout.groupSize();
        float[][] hr = headRows(rec, l, h, layout, rope, n);
        float[] kPre = hr[0], kPost = hr[1], v = hr[2];
        List<float[]> qs = new ArrayList<>();
        for (int i = 0; i < rec.queries.size(); i++) {
            if (rec.queryAt.get(i)[0] != l) continue;
            float[] q = rec.queries.get(i);
            for (int g = 0; g < group; g++) qs.add(Arrays.copyOfRange(q, (h * group + g) * dim, (h * group + g + 1) * dim));
        }
        float[] exact = attention(qs, kPost, v, n, dim);
        for (double bits : BITS) {
            for (String rows : new String[]{"keys pre-RoPE", "keys post-RoPE", "values"}) {
                float[] x = rows.startsWith("values") ? v : rows.contains("pre") ? kPre : kPost;
                KltBasis model = modelBases[l][h][rows.startsWith("values") ? 2 : rows.contains("pre") ? 0 : 1];
                for (String tr : new String[]{"hadamard", "klt", "klt-model"}) {
                    float[] dec = code(x, n, dim, bits, tr.equals("hadamard") ? null : tr.equals("klt") ? PROMPT : model);
                    double bpv = dec[dec.length - 1];
                    dec = Arrays.copyOf(dec, n * dim);
                    double rel = relMse(x, dec, n, dim);
                    float[] out;
                    if (rows.startsWith("values")) {
                        out = attention(qs, kPost, dec, n, dim);
                    } else {
                        if (rows.contains("pre")) for (int t = 0; t < n; t++) rope.forward(dec, t * dim, t);
                        out = attention(qs, dec, v, n, dim);
                    }
                    double err = 0, norm = 0;
                    for (int i = 0; i < out.length; i++) {
                        err += (out[i] - exact[i]) * (out[i] - exact[i]);
                        norm += exact[i] * exact[i];
                    }
                    results.computeIfAbsent(rows + "|" + bits + "|" + tr, k -> new ArrayList<>())
                            .add(new double[]{rel, err / Math.max(1e-30, norm), bpv});
                }
            }
        }
    }

    /** Rows centred, transformed, coded and decoded back (mean added); the last element is the bits per value spent. */
    /** Marker: fit the basis from the prompt's own rows. */
    private static final KltBasis PROMPT = KltBasis.restore(8, new short[0], new float[0], 0);

    /** basis: null = Hadamard, PROMPT = fitted from these rows (counted), else a shared basis (not counted). */
    static float[] code(float[] x, int n, int dim, double bits, KltBasis basis) {
        boolean klt = basis != null;
        float[] mean = new float[dim];
        for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) mean[i] += x[t * dim + i] / n;
        float[] c = x.clone();
        for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) c[t * dim + i] -= mean[i];
        int groups = dim / 8;
        byte[] flat = new byte[groups];
        for (int g = 0; g < groups; g++) flat[g] = (byte) (bits == 1.5 ? (g % 2 == 0 ? 2 : 1) : (int) bits);
        float[] ones = new float[groups];
        Arrays.fill(ones, 1f);
        VectorCompressor ref = bits == 1.5 ? new E8MixedCodec(dim, flat, ones) : E8Codec.of(dim, (int) bits);
        int rowBytes = ref.bytesPerBlock();
        VectorCompressor codec;
        java.util.function.BiConsumer<float[], Integer> fwd, inv;
        long extra;
        if (klt) {
            KltBasis b = basis == PROMPT ? KltBasis.fit(c, n, dim, rowBytes, n) : basis;
            codec = b.codecFor(rowBytes);
            fwd = b::forward;
            inv = b::inverse;
            extra = basis == PROMPT ? b.bytes() : 0;
        } else {
            HadamardRotation hr = new HadamardRotation(dim, 0x5EEDL);
            codec = ref;
            fwd = hr::forward;
            inv = hr::inverse;
            extra = 0;
        }
        float[] out = new float[n * dim + 1];
        byte[] buf = new byte[codec.bytesPerBlock()];
        float[] row = new float[dim];
        for (int t = 0; t < n; t++) {
            System.arraycopy(c, t * dim, row, 0, dim);
            fwd.accept(row, 0);
            codec.encodeBlock(row, 0, buf, 0);
            codec.decode(buf, 0, 0, row, 0);
            inv.accept(row, 0);
            for (int i = 0; i < dim; i++) out[t * dim + i] = row[i] + mean[i];
        }
        out[n * dim] = (float) (8.0 * ((double) n * codec.bytesPerBlock() + extra + 4.0 * dim) / ((double) n * dim));
        return out;
    }

    static double relMse(float[] x, float[] y, int n, int dim) {
        double[] mean = new double[dim];
        for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) mean[i] += x[t * dim + i] / (double) n;
        double e = 0, var = 0;
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < dim; i++) {
                double d = x[t * dim + i] - y[t * dim + i], c = x[t * dim + i] - mean[i];
                e += d * d;
                var += c * c;
            }
        }
        return e / Math.max(1e-30, var);
    }

    /** Softmax attention of each query over all n rows: [queries][dim]. */
    static float[] attention(List<float[]> qs, float[] k, float[] v, int n, int dim) {
        float[] out = new float[qs.size() * dim];
        double[] s = new double[n];
        double inv = 1 / Math.sqrt(dim);
        for (int j = 0; j < qs.size(); j++) {
            float[] q = qs.get(j);
            double mx = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < n; t++) {
                double d = 0;
                for (int i = 0; i < dim; i++) d += q[i] * k[t * dim + i];
                s[t] = d * inv;
                mx = Math.max(mx, s[t]);
            }
            double z = 0;
            for (int t = 0; t < n; t++) z += s[t] = Math.exp(s[t] - mx);
            for (int t = 0; t < n; t++) {
                float w = (float) (s[t] / z);
                for (int i = 0; i < dim; i++) out[j * dim + i] += w * v[t * dim + i];
            }
        }
        return out;
    }

    private static double mean(List<double[]> r, int col) {
        return r.stream().mapToDouble(x -> x[col]).average().orElse(Double.NaN);
    }

    private static String quantiles(List<double[]> r, int col) {
        double[] x = r.stream().mapToDouble(d -> d[col]).sorted().toArray();
        return String.format("%.4f [%.4f, %.4f]", q(x, 0.5), q(x, 0.1), q(x, 0.9));
    }

    private static double q(double[] sorted, double p) {
        double at = p * (sorted.length - 1);
        int lo = (int) Math.floor(at), hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }
}
