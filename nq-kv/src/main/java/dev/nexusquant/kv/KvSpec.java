package dev.nexusquant.kv;

import dev.nexusquant.kv.eviction.EvictionSpecs;

import java.util.Locale;

/**
 * The text form of a {@link KvCompression}, as {@code --kv} takes it: a preset name ({@code none}, {@code high},
 * {@code balanced}, {@code max}) optionally followed by overrides, or overrides alone (starting from a lossless
 * cache), separated by commas:
 * <pre>
 *   k=CODEC v=CODEC kv=CODEC        row codecs of keys, values, both (e8:2, e8:3, fp16, q4_0, kivi2, ...)
 *   L&lt;n&gt;=KCODEC/VCODEC             codecs of layer n (L-1 = the last layer, L-2 the one before)
 *   boost=N                        the N layers most disturbed by the key codec on this prompt get 2 more bits
 *   age=N ak=CODEC av=CODEC        rows older than N tokens are re-coded with these (precision decays with age)
 *   evict=none|streaming|snapkv:R|h2o:R|expected:R|adakv:R|vnorm:R|merge:R
 *                                  eviction policy and keep ratio R in (0, 1] (see EvictionSpecs)
 *   sinks=N obs=N pool=N           sink tokens, observation queries (SnapKV, expected) and SnapKV's pooling kernel
 *   future=N                       positions expected attention carries the queries' statistics forward
 *   vnorm=on|off joint=on|off|F merge=off|C agerank=attn|vnorm
 *                                  scores times value norms; AdaKV pooling of a layer's heads (F: each head's floor);
 *                                  dropped rows merged into kept rows at key cosine >= C; rows that age cut by
 *                                  the attention they received while young, or by their values' norms
 *   window=N block=N wprec=f16|f32 full-precision recent window, compression block, window precision
 *   rot=on|off seed=N              randomized Hadamard rotation and its seed
 *   rot=klt|klt:k|klt:v            per-head decorrelating transform (KLT) of keys and values, keys only or values
 *                                  only (the others rotated by Hadamard), E8 rates by variance at the same bytes
 *   basis=FILE|auto                KLT bases shared per model (a {@link ModelBasis} file, or auto: the model's own, fitted once and cached) instead of per prompt
 *   keys=post|pre                  keys stored with RoPE applied, or undone
 *   center=none|k|v|kv             subtract per-head means before quantizing
 *   pin=N                          keep the first N positions (attention sinks) in fp16, never evicted
 *   kbal=on|off                    balance key channels against the prompt's queries before rotating
 *   mem=SIZE staging=N             memory budget (e.g. 64M, 1.5G), prompt tokens staged before compressing
 *   ratio=R                        target ratio over fp16: a per-prompt allocator chooses each head's keep share
 *                                  and codecs of its old rows (see {@link BudgetAllocator}); 0 = off
 *   planq=N                        with ratio=R: the prompt's last N queries the allocator measures options against
 *                                  (default 16)
 *   agetail=N                      rows that age compete with the newest N rows already aged, the best stay
 *                                  (0 = each young block cut on its own)
 * </pre>
 * Example: {@code balanced,evict=snapkv:0.4,k=e8:3}.
 */
public final class KvSpec {

    private KvSpec() {
    }

    /** Parses a spec; IllegalArgumentException names the part that is wrong. */
    public static KvCompression parse(String spec) {
        if (spec == null || spec.replace(',', ' ').isBlank()) throw new IllegalArgumentException("empty --kv spec");
        String[] parts = spec.trim().split(",");
        KvCompression.Builder b;
        int start = 0;
        String first = parts[0].trim().toLowerCase(Locale.ROOT);
        if (!first.contains("=") && !first.startsWith("snapkv") && !first.startsWith("h2o")) {
            b = preset(first).toBuilder();
            start = 1;
        } else {
            b = KvCompression.builder();
        }
        KvCompression start0 = b.build();
        EvictionSpecs.Builder ev = new EvictionSpecs.Builder(start0.eviction());
        String[] agedK = {start0.agedKeyCodec()}, agedV = {start0.agedValueCodec()};
        for (int i = start; i < parts.length; i++) {
            String part = parts[i].trim();
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--kv: expected key=value, got '" + part + "'");
            String key = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String val = part.substring(eq + 1).trim();
            try {
                switch (key) {
                    case "k" -> b.keyCodec(val);
                    case "v" -> b.valueCodec(val);
                    case "kv" -> b.codecs(val, val);
                    case "age" -> b.ageAfter(Integer.parseInt(val));
                    case "boost" -> b.boost(Integer.parseInt(val));
                    case "ak" -> agedK[0] = val;
                    case "av" -> agedV[0] = val;
                    case "evict" -> ev.evict(val);
                    case "keep" -> ev.keep(Double.parseDouble(val));
                    case "sinks" -> ev.sinks(Integer.parseInt(val));
                    case "obs" -> ev.observation(Integer.parseInt(val));
                    case "pool" -> ev.pool(Integer.parseInt(val));
                    case "future" -> ev.future(Integer.parseInt(val));
                    case "vnorm" -> ev.valueNorm(val);
                    case "joint" -> ev.joint(val);
                    case "merge" -> ev.merge(val);
                    case "agerank" -> ev.agingRank(val);
                    case "window" -> b.window(Integer.parseInt(val));
                    case "block" -> b.block(Integer.parseInt(val));
                    case "wprec" -> b.windowPrecision(switch (val.toLowerCase(Locale.ROOT)) {
                        case "f16", "fp16" -> KvCompression.Precision.F16;
                        case "f32", "fp32" -> KvCompression.Precision.F32;
                        default -> throw new IllegalArgumentException("wprec must be f16 or f32");
                    });
                    case "rot" -> {
                        switch (val.toLowerCase(Locale.ROOT)) {
                            case "on", "hadamard", "true" -> b.klt(false, false).rotate(true);
                            case "off", "none", "false" -> b.klt(false, false).rotate(false);
                            case "klt" -> b.klt(true, true);
                            case "klt:k" -> b.klt(true, false);
                            case "klt:v" -> b.klt(false, true);
                            default -> throw new IllegalArgumentException("rot must be on, off, klt, klt:k or klt:v");
                        }
                    }
                    case "seed" -> b.seed(Long.decode(val));
                    case "keys" -> b.keyDomain(switch (val.toLowerCase(Locale.ROOT)) {
                        case "post" -> KvCompression.KeyDomain.POST_ROPE;
                        case "pre" -> KvCompression.KeyDomain.PRE_ROPE;
                        default -> throw new IllegalArgumentException("keys must be post or pre");
                    });
                    case "center" -> {
                        String c = val.toLowerCase(Locale.ROOT);
                        if (!c.matches("none|k|v|kv")) throw new IllegalArgumentException("center must be none, k, v or kv");
                        b.center(c.contains("k"), c.contains("v"));
                    }
                    case "pin" -> b.pin(Integer.parseInt(val));
                    case "kbal" -> b.balanceKeys(switch (val.toLowerCase(Locale.ROOT)) {
                        case "on", "true" -> true;
                        case "off", "false" -> false;
                        default -> throw new IllegalArgumentException("kbal must be on or off");
                    });
                    case "basis" -> b.kltBasis(val.isEmpty() || val.equalsIgnoreCase("prompt") ? null : val);
                    case "mem" -> b.memoryBudget(parseSize(val));
                    case "staging" -> {
                        int t = Integer.parseInt(val);
                        if (t < 1) throw new IllegalArgumentException("staging must be at least 1 token: " + t);
                        b.stagingLimit(t);
                    }
                    case "ratio" -> b.ratio(Double.parseDouble(val));
                    case "planq" -> b.planQueries(Integer.parseInt(val));
                    case "agetail" -> b.ageTail(Integer.parseInt(val));
                    default -> {
                        if (key.matches("l-?\\d+")) {
                            String[] kv = val.split("/");
                            if (kv.length != 2) throw new IllegalArgumentException("layer override must be KCODEC/VCODEC");
                            b.layer(Integer.parseInt(key.substring(1)), kv[0], kv[1]);
                        } else {
                            throw new IllegalArgumentException("unknown setting");
                        }
                    }
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--kv: '" + part + "': "
                        + (val.matches(".*\\d{10,}.*") ? "number out of range" : "not a number"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--kv: '" + part + "': " + e.getMessage());
            }
        }
        try {
            b.eviction(ev.build());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--kv '" + spec + "': " + e.getMessage());
        }
        b.agedCodecs(agedK[0], agedV[0]);
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--kv '" + spec + "': " + e.getMessage());
        }
    }

    /** The preset of that name. */
    public static KvCompression preset(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "none", "fp32", "lossless" -> KvCompression.builder().build();
            default -> {
                try {
                    yield Quality.valueOf(name.trim().toUpperCase(Locale.ROOT)).config();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("unknown --kv preset '" + name + "' (none, high, balanced, max)");
                }
            }
        };
    }

    /** Parses sizes such as 4096, 64K, 64M, 1.5G, 512KiB, 2GB (powers of 1024). */
    public static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long mult = 1;
        if (t.endsWith("K")) mult = 1L << 10;
        else if (t.endsWith("M")) mult = 1L << 20;
        else if (t.endsWith("G")) mult = 1L << 30;
        else if (t.endsWith("T")) mult = 1L << 40;
        if (mult > 1) t = t.substring(0, t.length() - 1);
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + s + "' (examples: 4096, 64M, 1.5G)");
        }
        if (!(v > 0) || v * mult > 1L << 50) throw new IllegalArgumentException("size out of range: '" + s + "'");
        return (long) (v * mult);
    }

    /** The canonical spec of a configuration; {@code parse(format(c))} equals {@code c}. */
    public static String format(KvCompression c) {
        StringBuilder sb = new StringBuilder();
        sb.append("k=").append(c.keyCodec()).append(",v=").append(c.valueCodec());
        for (KvCompression.LayerCodecs lc : c.layerCodecs()) {
            sb.append(",L").append(lc.layer()).append('=').append(lc.keyCodec()).append('/').append(lc.valueCodec());
        }
        if (c.boost() > 0) sb.append(",boost=").append(c.boost());
        if (c.agedKeyCodec() != null) {
            sb.append(",age=").append(c.ageAfter()).append(",ak=").append(c.agedKeyCodec()).append(",av=").append(c.agedValueCodec());
        }
        sb.append(',').append(c.eviction().spec());
        sb.append(",window=").append(c.window()).append(",block=").append(c.block());
        sb.append(",wprec=").append(KvCompression.lower(c.windowPrecision()));
        sb.append(",rot=").append(c.kltKeys() && c.kltValues() ? "klt" : c.kltKeys() ? "klt:k" : c.kltValues() ? "klt:v"
                : c.rotate() ? "on" : "off");
        if (c.rotate()) sb.append(",seed=").append(c.seed());
        if (c.kltBasis() != null) sb.append(",basis=").append(c.kltBasis());
        sb.append(",keys=").append(c.keyDomain() == KvCompression.KeyDomain.PRE_ROPE ? "pre" : "post");
        sb.append(",center=").append(c.centerKeys() ? (c.centerValues() ? "kv" : "k") : (c.centerValues() ? "v" : "none"));
        if (c.pin() > 0) sb.append(",pin=").append(c.pin());
        if (c.balanceKeys()) sb.append(",kbal=on");
        if (c.memoryBudget() > 0) sb.append(",mem=").append(c.memoryBudget());
        sb.append(",staging=").append(c.stagingLimit());
        if (c.ratio() > 0) sb.append(",ratio=").append(c.ratio());
        if (c.planQueries() != BudgetAllocator.QUERIES) sb.append(",planq=").append(c.planQueries());
        if (c.ageTail() > 0) sb.append(",agetail=").append(c.ageTail());
        return sb.toString();
    }
}
