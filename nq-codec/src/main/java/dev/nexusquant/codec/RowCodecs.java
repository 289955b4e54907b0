package dev.nexusquant.codec;

import dev.nexusquant.codec.baseline.Fp16Codec;
import dev.nexusquant.codec.baseline.Fp32Codec;
import dev.nexusquant.codec.baseline.Fp8E4M3Codec;
import dev.nexusquant.codec.baseline.KiviCodec;
import dev.nexusquant.codec.baseline.LloydMaxCodec;
import dev.nexusquant.codec.baseline.Q4_0Codec;
import dev.nexusquant.codec.baseline.Q8_0Codec;
import dev.nexusquant.codec.e8.E8Codec;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The row codecs by name, as a {@code --kv} spec writes them ({@code k=NAME}, {@code v=NAME}): one table, {@link #TABLE},
 * from which parsing ({@link #create}), validation ({@link #validate}), the two-bits-richer codec of boosted layers
 * ({@link #boosted}) and the list of known names in error messages and help texts ({@link #known}) all come. Every
 * codec is a {@link VectorCompressor}. To add a codec, add a row.
 */
public final class RowCodecs {

    private RowCodecs() {
    }

    /** Builds the codec of a matched name for rows of {@code dim} values of keys ({@code forKeys}) or values. */
    @FunctionalInterface
    interface Factory {
        VectorCompressor create(Matcher name, int dim, boolean forKeys);
    }

    /**
     * One family of codec names.
     *
     * @param syntax  how the name is written, for help texts ({@code e8:B[/G]})
     * @param help    what the codec is, one line
     * @param names   the names it accepts (lower case, whole name)
     * @param factory builds the codec
     * @param boosted the name two bits richer, or the same name
     */
    record Row(String syntax, String help, Pattern names, Factory factory, java.util.function.Function<Matcher, String> boosted) {
    }

    private static Row row(String syntax, String help, String regex, Factory f) {
        return new Row(syntax, help, Pattern.compile(regex), f, Matcher::group);
    }

    private static Row row(String syntax, String help, String regex, Factory f, java.util.function.Function<Matcher, String> boosted) {
        return new Row(syntax, help, Pattern.compile(regex), f, boosted);
    }

    /** The codecs, in the order help texts list them. */
    static final List<Row> TABLE = List.of(
            row("e8:B[/G]", "NexusQuant's E8 lattice codes, B = 1..4 code bits per value, one fp16 scale per G values"
                            + " (default: per row)", "e8:([1-4])(?:/(\\d{1,7}))?", RowCodecs::e8,
                    m -> "e8:" + Math.min(4, Integer.parseInt(m.group(1)) + 2) + (m.group(2) == null ? "" : "/" + m.group(2))),
            row("fp32", "plain 32-bit floats", "fp32|f32", (m, dim, keys) -> new Fp32Codec(dim)),
            row("fp16", "plain 16-bit floats", "fp16|f16", (m, dim, keys) -> new Fp16Codec(dim)),
            row("fp8", "fp8 E4M3 with a per-head scale per 32 tokens", "fp8|e4m3", (m, dim, keys) -> new Fp8E4M3Codec(dim)),
            row("q8_0", "llama.cpp's q8_0: blocks of 32 with an fp16 scale", "q8_0", (m, dim, keys) -> new Q8_0Codec(dim)),
            row("q4_0", "llama.cpp's q4_0: blocks of 32 with an fp16 scale", "q4_0", (m, dim, keys) -> new Q4_0Codec(dim),
                    m -> "q8_0"),
            row("kiviB", "KIVI at B = 1..8 bits: keys per channel over 32 tokens, values per token, groups of 32",
                    "kivi([1-8])", (m, dim, keys) -> new KiviCodec(dim, Integer.parseInt(m.group(1)), keys),
                    m -> m.group().equals("kivi2") ? "kivi4" : m.group()),
            row("tqB[.5]", "TurboQuant-style Lloyd-Max levels at B = 2..8 bits (.5: half the coordinates one bit more)"
                            + " with a per-row norm; use with rot=on", "tq([2-8])(\\.5)?", RowCodecs::turboQuant));

    private static VectorCompressor e8(Matcher m, int dim, boolean forKeys) {
        if (dim % 8 != 0) throw new IllegalArgumentException("E8 codes need head_dim a multiple of 8: " + dim);
        int bits = Integer.parseInt(m.group(1));
        int group = m.group(2) == null ? dim : Math.min(Integer.parseInt(m.group(2)), dim);
        if (group <= 0 || group % 8 != 0 || dim % group != 0) {
            throw new IllegalArgumentException("E8 scale group must be a multiple of 8 dividing head_dim " + dim + ": " + group);
        }
        return E8Codec.of(dim, bits, group);
    }

    private static VectorCompressor turboQuant(Matcher m, int dim, boolean forKeys) {
        int whole = Integer.parseInt(m.group(1));
        return m.group(2) != null ? new LloydMaxCodec(dim, whole + 1, dim / 2) : new LloydMaxCodec(dim, whole, dim);
    }

    /** The names a spec accepts, for error messages: {@code e8:B[/G], fp32, fp16, ...}. */
    public static String known() {
        return TABLE.stream().map(Row::syntax).collect(Collectors.joining(", "));
    }

    /** One line per codec, {@code syntax  what it is}, for help texts. */
    public static List<String> help() {
        int w = TABLE.stream().mapToInt(r -> r.syntax().length()).max().orElse(0);
        return TABLE.stream().map(r -> String.format(Locale.ROOT, "%-" + w + "s  %s", r.syntax(), r.help())).toList();
    }

    /** The row that accepts {@code name}, with its match; IllegalArgumentException listing the known names if none. */
    private static Matcher match(String name) {
        if (name == null) throw new IllegalArgumentException("codec name is null");
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (Row r : TABLE) {
            Matcher m = r.names().matcher(n);
            if (m.matches()) return m;
        }
        throw new IllegalArgumentException("unknown KV codec '" + name + "' (known: " + known() + ")");
    }

    private static Row rowOf(Matcher m) {
        for (Row r : TABLE) if (r.names() == m.pattern()) return r;
        throw new IllegalStateException("no row for " + m.pattern());
    }

    /** Throws IllegalArgumentException naming the problem when {@code name} is not the name of a codec. */
    public static void validate(String name) {
        match(name);
    }

    /** Throws IllegalArgumentException naming the problem when {@code name} cannot code rows of {@code dim} values. */
    public static void validate(String name, int dim) {
        create(name, dim, true);
        create(name, dim, false);
    }

    /** The codec two bits richer than {@code name}, for boosted layers: e8:B → e8:min(4, B + 2), kivi2 → kivi4, q4_0 → q8_0. */
    public static String boosted(String name) {
        Matcher m = match(name);
        String b = rowOf(m).boosted().apply(m);
        return b.equals(m.group()) ? name : b;
    }

    /** The codec {@code name} for rows of {@code dim} values of keys ({@code forKeys}) or values. */
    public static VectorCompressor create(String name, int dim, boolean forKeys) {
        Matcher m = match(name);
        if (dim <= 0) throw new IllegalArgumentException("head_dim must be positive: " + dim);
        try {
            return rowOf(m).factory().create(m, dim, forKeys);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("KV codec '" + name + "' at head_dim " + dim + ": " + e.getMessage(), e);
        }
    }
}
