package dev.nexusquant.kv;

import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.kv.baseline.Fp16Codec;
import dev.nexusquant.kv.baseline.Fp32Codec;
import dev.nexusquant.kv.baseline.Fp8E4M3Codec;
import dev.nexusquant.kv.baseline.KiviCodec;
import dev.nexusquant.kv.baseline.LloydMaxCodec;
import dev.nexusquant.kv.baseline.Q4_0Codec;
import dev.nexusquant.kv.baseline.Q8_0Codec;

import java.util.Locale;

/**
 * The row codecs by name, as they appear in a {@code --kv} spec ({@code k=NAME}, {@code v=NAME}); every one is a
 * {@link VectorCompressor}:
 * <ul>
 *   <li>{@code e8:B} (B = 1..4 code bits per value), {@code e8:B/G} (one fp16 scale per G values instead of per
 *       row): NexusQuant's E8 lattice codes (nq-codec);</li>
 *   <li>{@code fp32}, {@code fp16}: plain floats;</li>
 *   <li>{@code fp8}: E4M3 with a per-head scale per 32 tokens;</li>
 *   <li>{@code q8_0}, {@code q4_0}: llama.cpp's blocks of 32 with an fp16 scale;</li>
 *   <li>{@code kivi2}, {@code kivi4}: KIVI, keys per channel over 32 tokens, values per token, groups of 32;</li>
 *   <li>{@code tq2}, {@code tq2.5}, {@code tq3}, {@code tq3.5}, {@code tq4}: TurboQuant-style Lloyd-Max levels with a
 *       per-row norm (use with {@code rot=on}).</li>
 * </ul>
 */
public final class RowCodecs {

    private RowCodecs() {
    }

    /** Throws IllegalArgumentException naming the problem when {@code name} is not a codec. */
    public static void validate(String name) {
        create(name, 64, true);
    }

    /** The codec two bits richer than {@code name}, for boosted layers: e8:B → e8:min(4, B + 2), kivi2 → kivi4. */
    public static String boosted(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.matches("e8:[1-4](/\\d+)?")) {
            int bits = Math.min(4, n.charAt(3) - '0' + 2);
            return "e8:" + bits + n.substring(4);
        }
        if (n.equals("kivi2")) return "kivi4";
        if (n.equals("q4_0")) return "q8_0";
        return name;
    }

    /** The codec {@code name} for rows of {@code dim} values of keys ({@code forKeys}) or values. */
    public static VectorCompressor create(String name, int dim, boolean forKeys) {
        if (name == null) throw new IllegalArgumentException("codec name is null");
        String n = name.trim().toLowerCase(Locale.ROOT);
        switch (n) {
            case "fp32", "f32": return new Fp32Codec(dim);
            case "fp16", "f16": return new Fp16Codec(dim);
            case "fp8", "e4m3": return new Fp8E4M3Codec(dim);
            case "q8_0": return new Q8_0Codec(dim);
            case "q4_0": return new Q4_0Codec(dim);
            default:
        }
        if (n.matches("e8:[1-4](/\\d+)?")) {
            if (dim % 8 != 0) throw new IllegalArgumentException("E8 codes need head_dim a multiple of 8: " + dim);
            int bits = n.charAt(3) - '0';
            int group = n.contains("/") ? Integer.parseInt(n.substring(n.indexOf('/') + 1)) : dim;
            group = Math.min(group, dim);
            if (group <= 0 || group % 8 != 0 || dim % group != 0) {
                throw new IllegalArgumentException("E8 scale group must be a multiple of 8 dividing head_dim " + dim + ": " + group);
            }
            return E8Codec.of(dim, bits, group);
        }
        if (n.matches("kivi[1-8]")) return new KiviCodec(dim, n.charAt(4) - '0', forKeys);
        if (n.matches("tq[2-8](\\.5)?")) {
            int whole = n.charAt(2) - '0';
            return n.endsWith(".5") ? new LloydMaxCodec(dim, whole + 1, dim / 2) : new LloydMaxCodec(dim, whole, dim);
        }
        throw new IllegalArgumentException("unknown KV codec '" + name
                + "' (known: e8:1..4, fp32, fp16, fp8, q8_0, q4_0, kivi2, kivi4, tq2.5, tq3.5)");
    }
}
