package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufValue;
import dev.nexusquant.engine.gguf.GgufValueType;
import dev.nexusquant.engine.gguf.GgufWriter;
import dev.nexusquant.engine.tensor.Quants;
import dev.nexusquant.engine.tokenizer.Gpt2Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a random-weight model shaped like Llama 3.2 1B (dim 2048, 16 layers, 32 heads, 8 KV heads, head_dim 64,
 * FFN 8192, vocabulary 128,256, tied output) with a Llama-3-style byte-level BPE tokenizer ({@code gpt2}, pre-tokenizer
 * {@code llama-bpe}, special tokens from id 128,000), so that this engine, llama3.java (which reads only Llama-3-style
 * vocabularies) and llama.cpp can all load the same file for side-by-side speed runs. The weights are random: the
 * text it generates is meaningless; only speed is measured with it. The type is one {@link GgmlType} for every matrix,
 * or {@code Q4_K_M}: llama.cpp's mix of Q4_K and Q6_K ({@link TensorTypes}).
 *
 * <pre>
 * java -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.BenchModel OUT.gguf [Q8_0|Q4_0|F16|Q4_K_M|...] [layers] [seed]
 * </pre>
 */
public final class BenchModel {

    static final int DIM = 2048, HEADS = 32, KV_HEADS = 8, FFN = 8192, VOCAB = 128_256, BASE_TOKENS = 128_000;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: BenchModel OUT.gguf [type, default Q8_0] [layers, default 16] [seed, default 1]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        TensorTypes types;
        try {
            types = TensorTypes.parse(args.length > 1 ? args[1] : "Q8_0");
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        int layers = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 1L;
        writer(types, layers, seed, BenchModel::random).write(out);
        System.err.println("wrote " + out);
    }

    /** The bytes of a {@code rows x cols} matrix of {@code type}, its values of scale {@code scale}, from {@code seed}. */
    interface MatrixData {
        byte[] bytes(GgmlType type, int cols, int rows, double scale, long seed);
    }

    static GgufWriter writer(TensorTypes types, int layers, long seed, MatrixData data) {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", "random-llama3.2-1b-shape-" + types.name());
        if (types.fileType() >= 0) w.putU32("general.file_type", types.fileType());
        w.putU32("llama.context_length", 8192);
        w.putU32("llama.embedding_length", DIM);
        w.putU32("llama.block_count", layers);
        w.putU32("llama.feed_forward_length", FFN);
        w.putU32("llama.attention.head_count", HEADS);
        w.putU32("llama.attention.head_count_kv", KV_HEADS);
        w.putF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.putF32("llama.rope.freq_base", 500000f);
        w.putU32("llama.vocab_size", VOCAB);
        w.putU32("llama.rope.dimension_count", DIM / HEADS);
        vocabulary(w);
        int kvDim = KV_HEADS * (DIM / HEADS);
        long[] counter = {seed};
        GgmlType embd = types.of("token_embd", 0, layers);
        // its seed is taken when it is written, after every matrix's (as the files written before the mix had it)
        w.lazyTensor("token_embd.weight", embd, new long[]{DIM, VOCAB}, () -> data.bytes(embd, DIM, VOCAB, 1.0, counter[0]++));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GgmlType.F32, new long[]{DIM}, ones(DIM));
            matrix(w, p, "attn_q", types.of("attn_q", l, layers), DIM, DIM, counter, data);
            matrix(w, p, "attn_k", types.of("attn_k", l, layers), DIM, kvDim, counter, data);
            matrix(w, p, "attn_v", types.of("attn_v", l, layers), DIM, kvDim, counter, data);
            matrix(w, p, "attn_output", types.of("attn_output", l, layers), DIM, DIM, counter, data);
            w.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[]{DIM}, ones(DIM));
            matrix(w, p, "ffn_gate", types.of("ffn_gate", l, layers), DIM, FFN, counter, data);
            matrix(w, p, "ffn_up", types.of("ffn_up", l, layers), DIM, FFN, counter, data);
            matrix(w, p, "ffn_down", types.of("ffn_down", l, layers), FFN, DIM, counter, data);
        }
        w.tensor("output_norm.weight", GgmlType.F32, new long[]{DIM}, ones(DIM));
        return w;
    }

    /** Only the tokenizer metadata of the bench model (for tokenizer tests). */
    public static GgufWriter tokenizerOnly() {
        GgufWriter w = new GgufWriter();
        vocabulary(w);
        return w;
    }

    private static void matrix(GgufWriter w, String prefix, String tensor, GgmlType type, int cols, int rows, long[] counter, MatrixData data) {
        long s = counter[0]++;
        w.lazyTensor(prefix + tensor + ".weight", type, new long[]{cols, rows}, () -> data.bytes(type, cols, rows, 1.0 / Math.sqrt(cols), s));
    }

    /** Gaussian-like weights (sum of uniforms), encoded in {@code type}, row by row to bound memory. */
    private static byte[] random(GgmlType type, int cols, int rows, double scale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long rowBytes = type.bytesFor(cols);
        byte[] out = new byte[Math.toIntExact(rowBytes * rows)];
        float[] row = new float[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) row[j] = (float) ((r.nextDouble() + r.nextDouble() + r.nextDouble() - 1.5) * 2 * scale);
            byte[] b = Quants.quantize(type, row);
            System.arraycopy(b, 0, out, (int) (i * rowBytes), b.length);
        }
        return out;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    /**
     * 256 byte tokens, then merged tokens built from pairs of earlier tokens (each with its merge rule) up to 128,000,
     * then Llama 3's special tokens.
     */
    private static void vocabulary(GgufWriter w) {
        List<String> tokens = new ArrayList<>(VOCAB);
        LinkedHashSet<String> known = new LinkedHashSet<>();
        for (int b = 0; b < 256; b++) {
            String t = String.valueOf(Gpt2Tokenizer.byteChar(b));
            tokens.add(t);
            known.add(t);
        }
        List<String> merges = new ArrayList<>();
        String letters = "etaoinshrdlcumwfgypbvkjxqz";
        String space = String.valueOf(Gpt2Tokenizer.byteChar(' '));
        SplittableRandom r = new SplittableRandom(42);
        while (tokens.size() < BASE_TOKENS) {
            // a random earlier token (biased to short ones) joined with a letter or another short token
            String left = tokens.get(r.nextInt(Math.min(tokens.size(), 256 + 4 * merges.size() / 3 + 64)));
            String right = r.nextInt(3) == 0 ? tokens.get(r.nextInt(Math.min(tokens.size(), 2000)))
                    : String.valueOf(letters.charAt(r.nextInt(letters.length())));
            if (left.length() + right.length() > 16) continue;
            if (r.nextInt(4) == 0 && !left.startsWith(space) && known.contains(space + left)) continue;
            String joined = left + right;
            if (known.add(joined)) {
                merges.add(left + " " + right);
                tokens.add(joined);
            }
        }
        String[] special = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
        int[] types = new int[VOCAB];
        java.util.Arrays.fill(types, 1);
        for (int i = 0; tokens.size() < VOCAB; i++) {
            types[tokens.size()] = 3;
            tokens.add(i < special.length ? special[i] : "<|reserved_special_token_" + (i - special.length + 3) + "|>");
        }
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "llama-bpe");
        w.putStrings("tokenizer.ggml.tokens", tokens.toArray(new String[0]));
        w.putInts("tokenizer.ggml.token_type", types);
        w.putStrings("tokenizer.ggml.merges", merges.toArray(new String[0]));
        w.putU32("tokenizer.ggml.bos_token_id", BASE_TOKENS);
        w.putU32("tokenizer.ggml.eos_token_id", BASE_TOKENS + 1);
        w.put("tokenizer.ggml.add_bos_token", GgufValue.of(GgufValueType.BOOL, true));
    }
}
