package dev.nexusquant.engine.testing;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufValue;
import dev.nexusquant.engine.gguf.GgufValueType;
import dev.nexusquant.engine.gguf.GgufWriter;
import dev.nexusquant.engine.tokenizer.Gpt2Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Writes small random-weight GGUF models of any shape and weight type, for tests (here and in other modules, through
 * the test-jar) and benchmarks. Weights are Gaussian, scaled by 1/sqrt(fan-in) so activations stay of order one.
 *
 * <pre>{@code
 * Path p = RandomModel.llama(4, 1, 64, GgmlType.Q8_0).seed(7).write(dir);
 * }</pre>
 */
public final class RandomModel {

    /**
     * A model to write.
     *
     * @param architecture  "llama" or "qwen2" (q/k/v biases, RoPE on halves)
     * @param dim           embedding dimension
     * @param layers        blocks
     * @param heads         query heads
     * @param kvHeads       KV heads
     * @param headDim       head dimension (dim need not be heads * headDim; key_length is written when it differs)
     * @param ffn           feed-forward dimension
     * @param vocab         vocabulary size (at least 354 for "llama" tokenizers, 300 for "gpt2")
     * @param context       context length
     * @param ropeBase      RoPE base
     * @param linearScale   RoPE linear scaling factor (1 = none)
     * @param matrixType    type of the 2-D weight matrices
     * @param embeddingType type of token_embd (and output)
     * @param tied          no output.weight: the output is the embedding
     * @param tokenizer     "llama" (SentencePiece) or "gpt2" (byte-level BPE)
     * @param seed          random seed of the weights
     */
    public record Spec(String architecture, int dim, int layers, int heads, int kvHeads, int headDim, int ffn, int vocab,
                       int context, double ropeBase, double linearScale, GgmlType matrixType, GgmlType embeddingType,
                       boolean tied, String tokenizer, long seed) {

        public Spec architecture(String a) { return new Spec(a, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec dim(int d) { return new Spec(architecture, d, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec layers(int l) { return new Spec(architecture, dim, l, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec ffn(int f) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, f, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec vocab(int v) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, v, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec context(int c) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, c, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec rope(double base, double scale) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, base, scale, matrixType, embeddingType, tied, tokenizer, seed); }
        public Spec types(GgmlType m, GgmlType e) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, m, e, tied, tokenizer, seed); }
        public Spec tied(boolean t) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, t, tokenizer, seed); }
        public Spec tokenizer(String t) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, t, seed); }
        public Spec seed(long s) { return new Spec(architecture, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeBase, linearScale, matrixType, embeddingType, tied, tokenizer, s); }

        /** Writes the model to {@code dir} under a name describing it. */
        public Path write(Path dir) throws IOException {
            Path p = dir.resolve(String.format("%s-d%d-h%d-kv%d-hd%d-%s-%d.gguf", architecture, dim, heads, kvHeads, headDim,
                    matrixType, seed));
            writer().write(p);
            return p;
        }

        public byte[] bytes() {
            return writer().toBytes();
        }

        public GgufWriter writer() {
            return RandomModel.writer(this);
        }
    }

    private RandomModel() {
    }

    /** A llama model with {@code heads * headDim} dimensions, 2 layers, FFN 2*dim, vocab 384, f32 norms. */
    public static Spec llama(int heads, int kvHeads, int headDim, GgmlType type) {
        int dim = heads * headDim;
        return new Spec("llama", dim, 2, heads, kvHeads, headDim, 2 * dim, 384, 256, 10000.0, 1.0, type, type, true,
                "llama", 1L);
    }

    /** A qwen2 model (biases, RoPE on halves) with a gpt2 tokenizer. */
    public static Spec qwen2(int heads, int kvHeads, int headDim, GgmlType type) {
        return llama(heads, kvHeads, headDim, type).architecture("qwen2").tokenizer("gpt2").rope(1_000_000.0, 1.0).tied(false);
    }

    static GgufWriter writer(Spec s) {
        Random rnd = new Random(s.seed());
        GgufWriter w = new GgufWriter();
        String a = s.architecture() + ".";
        w.putString("general.architecture", s.architecture());
        w.putString("general.name", "random-" + s.architecture());
        w.putU32(a + "context_length", s.context());
        w.putU32(a + "embedding_length", s.dim());
        w.putU32(a + "block_count", s.layers());
        w.putU32(a + "feed_forward_length", s.ffn());
        w.putU32(a + "attention.head_count", s.heads());
        w.putU32(a + "attention.head_count_kv", s.kvHeads());
        if (s.heads() * s.headDim() != s.dim()) {
            w.putU32(a + "attention.key_length", s.headDim());
            w.putU32(a + "attention.value_length", s.headDim());
        }
        w.putF32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
        w.putF32(a + "rope.freq_base", (float) s.ropeBase());
        if (s.linearScale() != 1.0) {
            w.putString(a + "rope.scaling.type", "linear");
            w.putF32(a + "rope.scaling.factor", (float) s.linearScale());
        }
        vocabulary(w, s);

        int qDim = s.heads() * s.headDim(), kvDim = s.kvHeads() * s.headDim();
        w.tensor("token_embd.weight", s.embeddingType(), new long[]{s.dim(), s.vocab()}, gaussian(rnd, s.dim() * s.vocab(), 1.0));
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GgmlType.F32, new long[]{s.dim()}, norm(rnd, s.dim()));
            matrix(w, rnd, p + "attn_q.weight", s.matrixType(), s.dim(), qDim);
            matrix(w, rnd, p + "attn_k.weight", s.matrixType(), s.dim(), kvDim);
            matrix(w, rnd, p + "attn_v.weight", s.matrixType(), s.dim(), kvDim);
            if (s.architecture().equals("qwen2")) {
                w.tensor(p + "attn_q.bias", GgmlType.F32, new long[]{qDim}, gaussian(rnd, qDim, 0.2));
                w.tensor(p + "attn_k.bias", GgmlType.F32, new long[]{kvDim}, gaussian(rnd, kvDim, 0.2));
                w.tensor(p + "attn_v.bias", GgmlType.F32, new long[]{kvDim}, gaussian(rnd, kvDim, 0.2));
            }
            matrix(w, rnd, p + "attn_output.weight", s.matrixType(), qDim, s.dim());
            w.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[]{s.dim()}, norm(rnd, s.dim()));
            matrix(w, rnd, p + "ffn_gate.weight", s.matrixType(), s.dim(), s.ffn());
            matrix(w, rnd, p + "ffn_up.weight", s.matrixType(), s.dim(), s.ffn());
            matrix(w, rnd, p + "ffn_down.weight", s.matrixType(), s.ffn(), s.dim());
        }
        w.tensor("output_norm.weight", GgmlType.F32, new long[]{s.dim()}, norm(rnd, s.dim()));
        if (!s.tied()) {
            matrix(w, rnd, "output.weight", s.embeddingType(), s.dim(), s.vocab());
        }
        return w;
    }

    private static void matrix(GgufWriter w, Random rnd, String name, GgmlType type, int cols, int rows) {
        w.tensor(name, type, new long[]{cols, rows}, gaussian(rnd, cols * rows, 1.0 / Math.sqrt(cols)));
    }

    public static float[] gaussian(Random rnd, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return v;
    }

    private static float[] norm(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (1.0 + 0.1 * rnd.nextGaussian());
        return v;
    }

    static final String[] WORDS = {"the", "a", "and", "once", "upon", "time", "there", "was", "little", "girl", "boy",
            "play", "park", "ball", "big", "red", "happy", "day", "she", "he", "it", "to", "of", "in", "on", "with"};

    private static void vocabulary(GgufWriter w, Spec s) {
        if (s.tokenizer().equals("gpt2")) {
            gpt2Vocabulary(w, s.vocab());
            return;
        }
        // SentencePiece: <unk>, <s>, </s>, 256 byte tokens, printable ASCII, "▁word" pieces and their prefixes, filler
        Set<String> pieces = new LinkedHashSet<>();
        List<Integer> types = new ArrayList<>();
        pieces.add("<unk>"); types.add(2);
        pieces.add("<s>"); types.add(3);
        pieces.add("</s>"); types.add(3);
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        List<String> normal = new ArrayList<>();
        normal.add("\u2581");
        for (char c = 33; c < 127; c++) normal.add(String.valueOf(c));
        for (String word : WORDS) {
            String wd = "\u2581" + word;
            for (int i = 2; i <= wd.length(); i++) normal.add(wd.substring(0, i));
        }
        for (String n : normal) {
            if (pieces.size() >= s.vocab()) break;
            if (pieces.add(n)) types.add(1);
        }
        for (int i = 0; pieces.size() < s.vocab(); i++) {
            if (pieces.add("<extra_" + i + ">")) types.add(5);
        }
        if (pieces.size() > s.vocab()) throw new IllegalArgumentException("vocab " + s.vocab() + " too small");
        String[] arr = pieces.toArray(new String[0]);
        float[] scores = new float[arr.length];
        for (int i = 0; i < arr.length; i++) scores[i] = types.get(i) == 1 ? -i : 0f; // shorter pieces merge first
        int[] t = types.stream().mapToInt(Integer::intValue).toArray();
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", arr);
        w.putFloats("tokenizer.ggml.scores", scores);
        w.putInts("tokenizer.ggml.token_type", t);
        w.putU32("tokenizer.ggml.bos_token_id", 1);
        w.putU32("tokenizer.ggml.eos_token_id", 2);
        w.putU32("tokenizer.ggml.unknown_token_id", 0);
    }

    /** A byte-level BPE vocabulary: 256 byte characters, merges spelling a few words, then special tokens. */
    private static void gpt2Vocabulary(GgufWriter w, int vocab) {
        List<String> tokens = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(Gpt2Tokenizer.byteChar(b)));
            types.add(1);
        }
        List<String> merges = new ArrayList<>();
        Set<String> known = new LinkedHashSet<>(tokens);
        String space = String.valueOf(Gpt2Tokenizer.byteChar(' '));
        for (String word : WORDS) {
            String wd = space + word;
            String cur = wd.substring(0, 1);
            for (int i = 1; i < wd.length() && tokens.size() < vocab - 3; i++) {
                String next = cur + wd.charAt(i);
                if (known.add(next)) {
                    merges.add(cur + " " + wd.charAt(i));
                    tokens.add(next);
                    types.add(1);
                }
                cur = next;
            }
        }
        String[] special = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
        while (tokens.size() < vocab - special.length) {
            tokens.add("<|reserved_" + tokens.size() + "|>");
            types.add(3);
        }
        for (String sp : special) {
            tokens.add(sp);
            types.add(3);
        }
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "llama-bpe");
        w.putStrings("tokenizer.ggml.tokens", tokens.toArray(new String[0]));
        w.putInts("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
        w.putStrings("tokenizer.ggml.merges", merges.toArray(new String[0]));
        w.putU32("tokenizer.ggml.bos_token_id", vocab - 3);
        w.putU32("tokenizer.ggml.eos_token_id", vocab - 2);
        w.put("tokenizer.ggml.add_bos_token", GgufValue.of(GgufValueType.BOOL, true));
    }
}
