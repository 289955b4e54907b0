package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * The shape of a model, read from GGUF metadata ({@code <arch>.embedding_length} and the like).
 *
 * @param architecture  llama or qwen2
 * @param name          {@code general.name}, or the file name
 * @param dim           embedding (model) dimension
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads ({@code heads % kvHeads == 0})
 * @param headDim       dimension of one head
 * @param ffnDim        hidden dimension of the SwiGLU feed-forward
 * @param vocabSize     tokens in the vocabulary (rows of the embedding)
 * @param contextLength trained context length
 * @param rope          rotary embedding: style, base, linear scaling, rotated dimensions
 * @param rmsEps        epsilon of RMSNorm
 * @param qkvBias       whether q, k and v have biases (qwen2)
 * @param tiedOutput    whether the output matrix is the token embedding (no {@code output.weight})
 * @param tensorTypes   number of tensors of each type
 * @param parameters    number of weights in all tensors
 */
public record ModelConfig(Architecture architecture, String name, int dim, int layers, int heads, int kvHeads,
                          int headDim, int ffnDim, int vocabSize, int contextLength, RopeSpec rope, float rmsEps,
                          boolean qkvBias, boolean tiedOutput, Map<GgmlType, Integer> tensorTypes, long parameters) {

    /** Upper bounds that keep a hostile file from asking for absurd allocations. */
    static final int MAX_DIM = 1 << 16, MAX_LAYERS = 1024, MAX_HEADS = 1024, MAX_VOCAB = 1 << 22, MAX_CONTEXT = 1 << 24;

    public ModelConfig {
        tensorTypes = Collections.unmodifiableMap(new EnumMap<>(tensorTypes.isEmpty() ? Map.of(GgmlType.F32, 0) : tensorTypes));
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public KvLayout kvLayout() {
        return new KvLayout(layers, heads, kvHeads, headDim, contextLength, rope);
    }

    /** Reads the configuration from a GGUF file's metadata and tensor list. */
    public static ModelConfig fromGguf(GgufFile f) throws GgufException {
        String archName = f.getString("general.architecture");
        Architecture arch = Architecture.of(archName);
        if (arch == null) {
            throw new GgufException("general.architecture", "unsupported architecture \"" + archName + "\" (supported: llama, qwen2)");
        }
        String p = arch.key + ".";
        int dim = f.getInt(p + "embedding_length", 1, MAX_DIM);
        int layers = f.getInt(p + "block_count", 1, MAX_LAYERS);
        int heads = f.getInt(p + "attention.head_count", 1, MAX_HEADS);
        int kvHeads = f.getInt(p + "attention.head_count_kv", 1, MAX_HEADS, heads);
        if (heads % kvHeads != 0) {
            throw new GgufException(p + "attention.head_count_kv", kvHeads + " does not divide head_count " + heads);
        }
        int ffn = f.getInt(p + "feed_forward_length", 1, 16 * MAX_DIM);
        int context = f.getInt(p + "context_length", 1, MAX_CONTEXT);
        int headDim = f.getInt(p + "attention.key_length", 1, MAX_DIM, dim / heads);
        if (f.has(p + "attention.value_length") && f.getInt(p + "attention.value_length", 1, MAX_DIM) != headDim) {
            throw new GgufException(p + "attention.value_length", "differs from key_length " + headDim + " (not supported)");
        }
        if (headDim * heads != dim && !f.has(p + "attention.key_length")) {
            throw new GgufException(p + "attention.head_count", heads + " heads do not divide embedding_length " + dim);
        }
        if ((headDim & 1) != 0) throw new GgufException(p + "attention.key_length", "head dimension " + headDim + " is odd");
        double eps = f.getDouble(p + "attention.layer_norm_rms_epsilon", 1e-5);
        if (!(eps > 0 && eps < 1)) throw new GgufException(p + "attention.layer_norm_rms_epsilon", "is " + eps);
        double base = f.getDouble(p + "rope.freq_base", 10000.0);
        if (!(base > 1) || Double.isInfinite(base)) throw new GgufException(p + "rope.freq_base", "is " + base);
        int rotary = f.getInt(p + "rope.dimension_count", 2, headDim, headDim);
        if ((rotary & 1) != 0) throw new GgufException(p + "rope.dimension_count", "is odd: " + rotary);
        // linear scaling: positions are divided by the factor (llama.cpp's rope_freq_scale is its inverse)
        String scaling = f.getString(p + "rope.scaling.type", f.has(p + "rope.scale_linear") ? "linear" : "none");
        double linear = 1.0;
        switch (scaling) {
            case "none" -> { }
            case "linear" -> {
                String key = f.has(p + "rope.scaling.factor") ? p + "rope.scaling.factor" : p + "rope.scale_linear";
                linear = f.getDouble(key, 1.0);
                if (linear == 0) linear = 1.0;
                if (!(linear > 0) || Double.isInfinite(linear)) throw new GgufException(key, "is " + linear);
            }
            default -> throw new GgufException(p + "rope.scaling.type", "unsupported RoPE scaling \"" + scaling + "\" (supported: none, linear)");
        }
        if (f.tensor("rope_freqs.weight") != null) {
            throw new GgufException("rope_freqs.weight", "per-frequency RoPE factors (Llama 3.1 scaling) are not supported");
        }
        GgufTensorInfo emb = f.tensor("token_embd.weight");
        if (emb == null) throw new GgufException("token_embd.weight", "missing tensor");
        if (emb.dims().length != 2 || emb.dims()[1] > MAX_VOCAB) {
            throw new GgufException("token_embd.weight", "shape " + emb.shape() + " is not [dim, vocab]");
        }
        int vocab = (int) emb.dims()[1];
        boolean tied = f.tensor("output.weight") == null;
        Map<GgmlType, Integer> types = new EnumMap<>(GgmlType.class);
        long params = 0;
        for (GgufTensorInfo t : f.tensors().values()) {
            types.merge(t.type(), 1, Integer::sum);
            params += t.elements();
        }
        String name = f.getString("general.name", f.path() == null ? "model" : f.path().getFileName().toString());
        return new ModelConfig(arch, name, dim, layers, heads, kvHeads, headDim, ffn, vocab, context,
                new RopeSpec(arch.ropeStyle, base, linear, rotary), (float) eps, arch.qkvBias, tied, types, params);
    }
}
