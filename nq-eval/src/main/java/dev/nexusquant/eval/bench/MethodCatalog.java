package dev.nexusquant.eval.bench;

import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.kv.Quality;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The methods {@code nq bench} compares, by group name. Every method is a configuration of the same compressed cache
 * (same attention code, same accounting), so the comparison is fair; the settings are the {@code --kv} specs shown in
 * the table. All quantizing baselines share NexusQuant's full-precision window of 32 fp16 tokens and blocks of 32.
 */
public final class MethodCatalog {

    private MethodCatalog() {
    }

    static final String W = ",window=32,block=32,wprec=f16";

    /** Group name to methods. */
    public static Map<String, List<Method>> groups() {
        Map<String, List<Method>> g = new LinkedHashMap<>();
        g.put("fp16", List.of(m("fp16", "fp16", "k=fp16,v=fp16" + W)));
        g.put("fp8", List.of(m("fp8 E4M3", "per-head scale", "k=fp8,v=fp8" + W)));
        g.put("q8_0", List.of(m("llama.cpp q8_0", "q8_0", "k=q8_0,v=q8_0" + W),
                m("llama.cpp q8_0", "q8_0+Hadamard", "k=q8_0,v=q8_0,rot=on" + W)));
        g.put("q4_0", List.of(m("llama.cpp q4_0", "q4_0", "k=q4_0,v=q4_0" + W),
                m("llama.cpp q4_0", "q4_0+Hadamard", "k=q4_0,v=q4_0,rot=on" + W)));
        g.put("kivi", List.of(m("KIVI", "4-bit", "k=kivi4,v=kivi4" + W), m("KIVI", "2-bit", "k=kivi2,v=kivi2" + W)));
        g.put("turboquant", List.of(m("TurboQuant-style", "3.5-bit", "k=tq3.5,v=tq3.5,rot=on" + W),
                m("TurboQuant-style", "2.5-bit", "k=tq2.5,v=tq2.5,rot=on" + W)));
        List<Method> ev = new ArrayList<>();
        for (int w : new int[]{256, 128}) {
            ev.add(m("StreamingLLM", "sinks 4 + window " + w, "k=fp16,v=fp16,evict=streaming,sinks=4,window=" + w + ",block=32,wprec=f16"));
        }
        for (double r : new double[]{0.5, 0.25}) {
            ev.add(m("H2O", "keep " + pct(r), "k=fp16,v=fp16,evict=h2o:" + r + W));
            ev.add(m("SnapKV", "keep " + pct(r), "k=fp16,v=fp16,evict=snapkv:" + r + W));
        }
        g.put("eviction", ev);
        List<Method> nq = new ArrayList<>();
        for (Quality q : Quality.values()) {
            nq.add(new Method("NexusQuant", q.name().toLowerCase(Locale.ROOT), q.config()));
        }
        g.put("nexusquant", nq);
        // the presets as fixed recipes, before they became byte budgets (ratio=R): what the presets replaced
        g.put("previous", List.of(
                m("NexusQuant fixed recipes (previous)", "high", "k=e8:4,v=e8:3,age=128,ak=e8:2,av=e8:2,boost=2,"
                        + "evict=snapkv:0.4,window=16,block=16,wprec=f16,rot=on,center=kv,sinks=4"),
                m("NexusQuant fixed recipes (previous)", "balanced", "k=e8:4,v=e8:3,age=64,ak=e8:3,av=e8:2,boost=1,"
                        + "evict=snapkv:0.2,window=16,block=16,wprec=f16,rot=on,center=kv,sinks=4"),
                m("NexusQuant fixed recipes (previous)", "max", "k=e8:4,v=e8:3,age=32,ak=e8:2,av=e8:1,boost=1,"
                        + "evict=snapkv:0.1,window=8,block=8,wprec=f16,rot=on,center=kv,sinks=4")));
        List<Method> grid = new ArrayList<>();
        for (String kv : new String[]{"k=e8:4,v=e8:4", "k=e8:3,v=e8:3", "k=e8:3,v=e8:2", "k=e8:2,v=e8:2"}) {
            grid.add(m("NexusQuant grid", kv.replace("k=e8:", "K").replace(",v=e8:", " V") + " bits", kv + ",rot=on,center=kv" + W));
        }
        String aged = "k=e8:4,v=e8:4,age=128,ak=e8:2,av=e8:2,boost=1,rot=on,center=kv";
        grid.add(m("NexusQuant grid", "K4V4 young, K2V2 old", aged + W));
        for (double keep : new double[]{0.5, 0.25}) {
            grid.add(m("NexusQuant grid", "K4V4 young, K2V2 old, keep " + pct(keep), aged + ",evict=snapkv:" + keep + W));
        }
        g.put("grid", grid);
        return g;
    }

    /**
     * The methods of the named groups ("all" = every group). A group may be sliced as {@code group:I} or
     * {@code group:I-J} (its methods I to J, counted from 1 in the order of {@link #groups()}), so that one bench can be
     * split over processes and merged again ({@code nq bench --merge}).
     */
    public static List<Method> select(List<String> names) {
        Map<String, List<Method>> g = groups();
        List<Method> out = new ArrayList<>();
        for (String n : names) {
            String k = n.trim().toLowerCase(Locale.ROOT);
            int colon = k.indexOf(':');
            String group = colon < 0 ? k : k.substring(0, colon);
            if (group.equals("all") && colon < 0) {
                g.values().forEach(out::addAll);
            } else if (g.containsKey(group)) {
                List<Method> all = g.get(group);
                out.addAll(colon < 0 ? all : slice(all, n.trim(), k.substring(colon + 1)));
            } else {
                throw new IllegalArgumentException("unknown method group '" + n + "' (known: all, "
                        + String.join(", ", g.keySet()) + ")");
            }
        }
        return out;
    }

    /** Methods I..J (from 1) of a group, from "I" or "I-J"; a clear error for anything else or out of range. */
    static List<Method> slice(List<Method> group, String name, String range) {
        if (!range.matches("\\d{1,4}(-\\d{1,4})?")) {
            throw new IllegalArgumentException("method group slice '" + name + "': expected GROUP:I or GROUP:I-J");
        }
        int dash = range.indexOf('-');
        int from = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
        int to = dash < 0 ? from : Integer.parseInt(range.substring(dash + 1));
        if (from < 1 || to < from || to > group.size()) {
            throw new IllegalArgumentException("method group slice '" + name + "': the group has methods 1-"
                    + group.size() + ", asked for " + from + "-" + to);
        }
        return group.subList(from - 1, to);
    }

    private static Method m(String family, String label, String spec) {
        return new Method(family, label, KvSpec.parse(spec));
    }

    private static String pct(double r) {
        return Math.round(r * 100) + "%";
    }
}
