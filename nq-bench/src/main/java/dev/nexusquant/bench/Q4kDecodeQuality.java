package dev.nexusquant.bench;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.gguf.GgufWriter;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tensor.Quants;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * What the decode kernels' arithmetic costs in quality, measured where decode runs: teacher-forced single-token steps.
 * {@code write} re-encodes a model's matrices (every 2-D tensor whose rows are whole 256-value blocks) in Q4_K (or the
 * type given: Q6_K);
 * {@code score} prefills the first half of each chunk of {@code ctx} tokens and then feeds the second half one token
 * at a time ({@link Session#forward} of 1 token: the decode path, {@code dotRows}), printing the mean negative
 * log-likelihood of each next token per chunk and the perplexity over all. Run {@code score} with and without
 * {@code -Dnq.packWeights=false} to compare the grouped Q4_K kernel (8-bit activations) with the file-row kernel
 * (float activations) on the same file and chunks; for a Q8_0 model (the project's), with and without
 * {@code -Dnq.q8Activations=false} (the grouped Q8_0 kernel on integer lanes, the default, against the float one, same layout); for a
 * Q6_K file, with and without {@code -Dnq.q6kGroups=false} (the grouped Q6_K kernel, 8-bit x, against the float row
 * kernel).
 *
 * <pre>
 * java ... Q4kDecodeQuality write IN.gguf OUT.gguf [TYPE=Q4_K]
 * java ... Q4kDecodeQuality score MODEL.gguf TEXT ctx CHUNKS   (CHUNKS: comma-separated chunk indexes)
 * </pre>
 */
public final class Q4kDecodeQuality {

    private Q4kDecodeQuality() {
    }

    public static void main(String[] args) throws Exception {
        if ((args.length == 3 || args.length == 4) && args[0].equals("write")) {
            write(Path.of(args[1]), Path.of(args[2]), args.length == 4 ? GgmlType.valueOf(args[3]) : GgmlType.Q4_K);
        } else if (args.length == 5 && args[0].equals("score")) {
            score(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]), args[4]);
        } else {
            System.err.println("usage: Q4kDecodeQuality write IN.gguf OUT.gguf [TYPE=Q4_K] | score MODEL.gguf TEXT ctx CHUNKS");
            System.exit(2);
        }
    }

    static void write(Path in, Path out, GgmlType type) throws Exception {
        try (GgufFile f = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter();
            for (var e : f.metadata().entrySet()) w.put(e.getKey(), e.getValue());
            for (Map.Entry<String, GgufTensorInfo> e : f.tensors().entrySet()) {
                GgufTensorInfo t = e.getValue();
                boolean matrix = t.dims().length == 2 && t.rowLength() % 256 == 0;
                if (!matrix) {
                    w.tensor(t.name(), t.type(), t.dims(), t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    continue;
                }
                float[] v = new float[Math.toIntExact(t.elements())];
                Quants.dequantize(t.type(), t.data(), 0, v, 0, v.length);
                w.tensor(t.name(), type, t.dims(), Quants.quantize(type, v));
            }
            w.write(out);
        }
        System.err.println("wrote " + out);
    }

    static void score(Path model, Path text, int ctx, String chunks) throws Exception {
        try (Model m = Model.load(model)) {
            int[] tokens = m.tokenizer().encode(Files.readString(text), true);
            int vocab = m.config().vocabSize(), first = ctx / 2;
            double nll = 0;
            int scored = 0;
            for (String c : chunks.split(",")) {
                int ci = Integer.parseInt(c.trim());
                if ((ci + 1) * ctx > tokens.length) throw new IllegalArgumentException("chunk " + ci + " past the text's " + tokens.length + " tokens");
                int[] chunk = java.util.Arrays.copyOfRange(tokens, ci * ctx, (ci + 1) * ctx);
                chunk[0] = m.tokenizer().bos();
                double sum = 0;
                try (Session s = m.newSession()) {
                    s.forward(chunk, 0, first, false);
                    for (int j = first; j < ctx - 1; j++) {
                        float[] lg = s.forward(chunk, j, 1, false);
                        sum += Perplexity.nll(lg, 0, vocab, chunk[j + 1]);
                    }
                }
                int n = ctx - 1 - first;
                System.out.printf(Locale.ROOT, "chunk %d nll %.6f ppl %.4f%n", ci, sum / n, Math.exp(sum / n));
                nll += sum;
                scored += n;
            }
            System.out.printf(Locale.ROOT, "all ppl %.4f over %d tokens (packWeights=%s, q8Activations=%s)%n", Math.exp(nll / scored), scored,
                    System.getProperty("nq.packWeights", "true"), System.getProperty("nq.q8Activations", "true"));
        }
    }
}
