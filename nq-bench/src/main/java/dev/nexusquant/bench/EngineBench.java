package dev.nexusquant.bench;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tensor.Parallel;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * The engine measured as llama.cpp's {@code llama-bench} measures itself, in this JVM: {@code ppN} is one prefill of N
 * random tokens in a new session, {@code tgN} N single-token steps from an empty session; a first untimed pp + tg run
 * warms up (as llama-bench's warm-up run does; {@code warmup} > 1 adds untimed runs after it), then {@code reps} timed runs of each; prints one JSON line with the
 * medians (and {@code tg_cpu_ms}, the process's CPU time per decoded token, {@code tg_caller_cpu_ms} the calling
 * thread's), and the cold figures of the first run (JIT not warm), the time to load the model and the time the weights
 * then took to move onto huge pages in the background ({@code settle_s}, waited for before the first run).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Dnq.threads=T -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.EngineBench \
 *      MODEL.gguf [pp=1024] [tg=64] [reps=3] [warmup=1] [kv=fp32]
 * </pre>
 *
 * {@code kv} is the dense cache's precision: {@code fp32} (the engine's default) or {@code fp16} (what llama.cpp keeps
 * by default: half the bytes that decode's attention reads).
 */
public final class EngineBench {

    private EngineBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EngineBench MODEL.gguf [pp=1024] [tg=64] [reps=3] [warmup=1] [kv=fp32|fp16]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int pp = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        int tg = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        String kv = args.length > 5 ? args[5] : "fp32";
        if (!kv.equals("fp32") && !kv.equals("fp16")) throw new IllegalArgumentException("kv must be fp32 or fp16: " + kv);
        if (warmup < 1) throw new IllegalArgumentException("warmup must be at least 1 (the first run gives the cold figures): " + warmup);
        long t0 = System.nanoTime();
        try (Model m = Model.load(model)) {
            double load = (System.nanoTime() - t0) / 1e9;
            if (kv.equals("fp16")) m.setKvCacheFactory(DenseKvCache.FP16);
            long t1 = System.nanoTime();
            m.awaitWeightsSettled(); // the background move onto huge pages: time the steady state, as llama-bench does
            double settle = (System.nanoTime() - t1) / 1e9;
            int vocab = m.config().vocabSize();
            Random r = new Random(1);
            int[] tokens = new int[Math.max(pp, tg)];
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(vocab);
            double coldPp = pp / prefill(m, tokens, pp), coldTg = tg / generate(m, tokens, tg);
            for (int i = 1; i < warmup; i++) { // further untimed runs, while C2 still recompiles (PeerComparison --warmup)
                prefill(m, tokens, pp);
                generate(m, tokens, tg);
            }
            double[] ppTps = new double[reps], tgTps = new double[reps], tgCpu = new double[reps], tgCaller = new double[reps];
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int i = 0; i < reps; i++) {
                ppTps[i] = pp / prefill(m, tokens, pp);
                long c0 = processCpuNanos(), t0c = threads.getCurrentThreadCpuTime();
                tgTps[i] = tg / generate(m, tokens, tg);
                tgCpu[i] = (processCpuNanos() - c0) / 1e6 / tg;
                tgCaller[i] = (threads.getCurrentThreadCpuTime() - t0c) / 1e6 / tg;
            }
            System.out.printf(java.util.Locale.ROOT,
                    "{\"model\":\"%s\",\"kv\":\"%s\",\"threads\":%d,\"pp\":%d,\"tg\":%d,\"pp_tps\":%.2f,\"tg_tps\":%.2f,\"pp_runs\":%s,\"tg_runs\":%s,"
                            + "\"tg_cpu_ms\":%.3f,\"tg_caller_cpu_ms\":%.3f,\"cold_pp_tps\":%.2f,\"cold_tg_tps\":%.2f,\"load_s\":%.3f,\"settle_s\":%.3f}%n",
                    model.getFileName(), kv, Parallel.threads(), pp, tg, median(ppTps), median(tgTps), Arrays.toString(ppTps),
                    Arrays.toString(tgTps), median(tgCpu), median(tgCaller), coldPp, coldTg, load, settle);
        }
    }

    /**
     * CPU time of the whole process so far (every thread: the caller, the workers, the JIT and the GC), or -1 where the
     * JVM does not say; {@code tg_cpu_ms} is its median growth per decoded token: time spent waiting for a core shows in
     * the wall time and not here, while the other jobs' use of memory still moves it (36 to 64 ms a 1B Q4_K token).
     */
    static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }

    /** Seconds to prefill {@code n} tokens into a new session (logits of the last token only, as llama-bench). */
    static double prefill(Model m, int[] tokens, int n) {
        try (Session s = m.newSession()) {
            long t = System.nanoTime();
            s.forward(tokens, 0, n, false);
            return (System.nanoTime() - t) / 1e9;
        }
    }

    /** Seconds for {@code n} single-token steps from an empty session. */
    static double generate(Model m, int[] tokens, int n) {
        try (Session s = m.newSession()) {
            long t = System.nanoTime();
            for (int i = 0; i < n; i++) s.forward(tokens, i, 1, false);
            return (System.nanoTime() - t) / 1e9;
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }
}
