package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;

import java.util.Locale;

/**
 * The type each matrix of a {@link BenchModel} file gets: one {@link GgmlType} for all of them, or the mix of the Q4_K_M
 * files people download. llama.cpp's quantizer ({@code llama_tensor_get_type} in {@code src/llama-quant.cpp}) gives a
 * Q4_K_M file Q4_K by default, Q6_K to the output matrix (the token embedding where the model ties the two, as Llama
 * 3.2 1B does), and Q6_K to {@code attn_v} and {@code ffn_down} in the layers its {@code use_more_bits} picks: the first
 * eighth, the last eighth, and every third layer in between ({@link #moreBits}).
 *
 * @param name  as given on the command line ({@code Q4_K_M}, or a type's name)
 * @param base  the type of every matrix the mix does not name
 * @param q4km  whether the Q4_K_M rule applies
 */
record TensorTypes(String name, GgmlType base, boolean q4km) {

    /** {@code Q4_K_M}, or the name of a {@link GgmlType} (case-insensitive). */
    static TensorTypes parse(String s) {
        String u = s.toUpperCase(Locale.ROOT);
        if (u.equals("Q4_K_M")) return new TensorTypes("Q4_K_M", GgmlType.Q4_K, true);
        try {
            return new TensorTypes(u, GgmlType.valueOf(u), false);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown type '" + s + "': Q4_K_M or one of " + java.util.Arrays.toString(GgmlType.values()));
        }
    }

    /**
     * The type of matrix {@code tensor} ({@code token_embd} or a layer's {@code attn_q}, {@code attn_k}, {@code attn_v},
     * {@code attn_output}, {@code ffn_gate}, {@code ffn_up}, {@code ffn_down}) of layer {@code layer} of {@code layers}
     * (ignored for the embedding).
     */
    GgmlType of(String tensor, int layer, int layers) {
        if (!q4km) return base;
        return switch (tensor) {
            case "token_embd" -> GgmlType.Q6_K; // tied with the output
            case "attn_v", "ffn_down" -> moreBits(layer, layers) ? GgmlType.Q6_K : GgmlType.Q4_K;
            default -> GgmlType.Q4_K;
        };
    }

    /** llama.cpp's {@code use_more_bits}: layers below n/8, from 7n/8 on, and those where (i - n/8) % 3 == 2. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** llama.cpp's {@code general.file_type} of the mix ({@code LLAMA_FTYPE_MOSTLY_Q4_K_M} = 15), or -1 when not set. */
    int fileType() {
        return q4km ? 15 : -1;
    }
}
