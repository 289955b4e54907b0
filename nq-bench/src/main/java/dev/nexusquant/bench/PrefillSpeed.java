package dev.nexusquant.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Prefill speed of a real prompt with several caches, side by side in one process: the model is loaded once, and in
 * every round each cache in turn prefills the whole prompt in a new session and compresses it ({@code endOfPrompt}).
 * The first {@code warmup} rounds are not counted (the JIT compiles there). Prints, per cache, the median over the
 * counted rounds of the wall seconds and of the process's CPU seconds (every thread: the model's pool, the JIT, the
 * GC; on a shared machine the CPU figure is the steadier one), and both as ratios to the first cache.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Dnq.threads=1 -cp nq-bench/target/benchmarks.jar \
 *      dev.nexusquant.bench.PrefillSpeed MODEL PROMPT_FILE [caches=none;balanced] [rounds=5] [warmup=2] [bytes=N]
 * </pre>
 * {@code bytes=N} keeps the prompt file's first N bytes (cut at a character). Caches as in {@link DecodeSpeed}:
 * {@code none} the engine's dense fp32 cache, {@code dense16} the fp16 one, anything else a {@code --kv} spec.
 */
public final class PrefillSpeed {

    public static void main(String[] args) throws Exception {
        if (args.length < 2) throw new IllegalArgumentException("usage: PrefillSpeed MODEL PROMPT_FILE [caches=..] [rounds=N] [warmup=N] [bytes=N]");
        List<String> caches = List.of("none", "balanced");
        int rounds = 5, warmup = 2, bytes = Integer.MAX_VALUE;
        for (String a : Arrays.copyOfRange(args, 2, args.length)) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "caches" -> caches = List.of(kv[1].split(";"));
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "warmup" -> warmup = Integer.parseInt(kv[1]);
                case "bytes" -> bytes = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (rounds < 1 || warmup < 0) throw new IllegalArgumentException("rounds >= 1 and warmup >= 0");
        String text = Files.readString(Path.of(args[1]));
        if (text.length() > bytes) text = text.substring(0, bytes);
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (Model model = Model.load(Path.of(args[0]))) {
            int[] ids = model.tokenizer().encode(text, true);
            List<KvCacheFactory> factories = new ArrayList<>();
            for (String c : caches) {
                factories.add(DecodeSpeed.cacheFactory(c, model));
            }
            double[][] wall = new double[caches.size()][rounds], cpu = new double[caches.size()][rounds];
            for (int r = 0; r < warmup + rounds; r++) {
                for (int c = 0; c < caches.size(); c++) {
                    long w0 = System.nanoTime(), c0 = os.getProcessCpuTime();
                    try (Session s = model.session().kvCache(factories.get(c)).open()) {
                        s.expectPrompt(ids.length);
                        s.forward(ids, 0, ids.length, false);
                        s.endOfPrompt();
                    }
                    double w = (System.nanoTime() - w0) / 1e9, u = (os.getProcessCpuTime() - c0) / 1e9;
                    System.out.printf(Locale.ROOT, "round %d%s %s: %.3f s wall, %.3f s CPU, load %.2f%n", r,
                            r < warmup ? " (warm-up)" : "", caches.get(c), w, u, os.getSystemLoadAverage());
                    if (r >= warmup) {
                        wall[c][r - warmup] = w;
                        cpu[c][r - warmup] = u;
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%n%d-token prompt, %d counted rounds; medians, ratio to %s%n", ids.length, rounds, caches.getFirst());
            System.out.println("| cache | wall s | CPU s | wall ratio | CPU ratio |");
            System.out.println("|---|---:|---:|---:|---:|");
            double w0 = median(wall[0]), u0 = median(cpu[0]);
            for (int c = 0; c < caches.size(); c++) {
                double w = median(wall[c]), u = median(cpu[c]);
                System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %.2fx | %.2fx |%n", caches.get(c), w, u, w / w0, u / u0);
            }
        }
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
