package dev.nexusquant.kv;

import dev.nexusquant.kv.baseline.Fp8E4M3Rows;
import dev.nexusquant.kv.baseline.KiviRows;
import dev.nexusquant.kv.baseline.LloydMaxRows;
import dev.nexusquant.kv.baseline.Q4_0Rows;
import dev.nexusquant.kv.baseline.Q8_0Rows;
import dev.nexusquant.kv.rows.E8Rows;
import dev.nexusquant.kv.rows.Fp16Rows;
import dev.nexusquant.kv.rows.Fp32Rows;
import dev.nexusquant.kv.rows.RowCodec;

import java.util.Locale;

/**
 * Row codecs by name, as they appear in a {@code --kv} spec ({@code k=NAME}, {@code v=NAME}):
 * <ul>
 *   <li>{@code e8:B} (B = 1..4 code bits per value), {@code e8:B/G} (one fp16 scale per G values instead of per
 *       row): NexusQuant's E8 lattice codes;</li>
 *   <li>{@code fp32}, {@code fp16}: plain floats;</li>
 *   <li>{@code fp8}: E4M3 with a per-head, per-block scale;</li>
 *   <li>{@code q8_0}, {@code q4_0}: llama.cpp's blocks of 32 with an fp16 scale;</li>
 *   <li>{@code kivi2}, {@code kivi4}: KIVI, keys per channel, values per token, groups of 32;</li>
 *   <li>{@code tq2}, {@code tq2.5}, {@code tq3}, {@code tq3.5}, {@code tq4}: TurboQuant-style Lloyd-Max levels with a
 *       per-row norm (use with {@code rot=on});</li>
 * </ul>
 */
public final class RowCodecs {

    private RowCodecs() {
    }

    /** Throws IllegalArgumentException naming the problem when {@code name} is not a codec. */
    public static void validate(String name) {
        create(name, 64, true);
    }

    /** The codec {@code name} for rows of {@code dim} values of keys ({@code forKeys}) or values. */
    public static RowCodec create(String name, int dim, boolean forKeys) {
        if (name == null) throw new IllegalArgumentException("codec name is null");
        String n = name.trim().toLowerCase(Locale.ROOT);
        switch (n) {
            case "fp32", "f32": return new Fp32Rows(dim);
            case "fp16", "f16": return new Fp16Rows(dim);
            case "fp8", "e4m3": return new Fp8E4M3Rows(dim);
            case "q8_0": return new Q8_0Rows(dim);
            case "q4_0": return new Q4_0Rows(dim);
            default:
        }
        if (n.matches("e8:[1-4](/\\d+)?")) {
            int bits = n.charAt(3) - '0';
            int group = n.contains("/") ? Integer.parseInt(n.substring(n.indexOf('/') + 1)) : dim;
            if (group <= 0 || group % 8 != 0 || dim % group != 0) {
                throw new IllegalArgumentException("E8 scale group must be a multiple of 8 dividing head_dim " + dim + ": " + group);
            }
            return E8Rows.of(dim, bits, Math.min(group, dim));
        }
        if (n.matches("kivi[1-8]")) return new KiviRows(dim, n.charAt(4) - '0', forKeys);
        if (n.matches("tq[2-8](\\.5)?")) {
            int whole = n.charAt(2) - '0';
            boolean half = n.endsWith(".5");
            return half ? new LloydMaxRows(dim, whole + 1, dim / 2) : new LloydMaxRows(dim, whole, dim);
        }
        throw new IllegalArgumentException("unknown KV codec '" + name
                + "' (known: fp32, fp16, fp8, q8_0, q4_0, kivi2, kivi4, tq2.5, tq3.5, e8:BITS)");
    }
}
