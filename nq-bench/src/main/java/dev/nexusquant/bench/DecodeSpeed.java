package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;
import dev.nexusquant.kv.AttendStages;
import dev.nexusquant.kv.KvSpec;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Decode speed against context length, side by side in one process: a random-weight Llama model with head_dim 128 and
 * GQA 4:1; for each context length and cache, the cache is filled with {@code context} synthetic tokens (Gaussian
 * keys and values with a few outlier channels, RoPE-free), the last 32 positions are attended as a prompt's
 * observation window, the prompt is compressed, and then real decode steps run through the model: {@code warmup}
 * untimed steps (the JIT compiles the decode path of each cache there, not in the timed steps), then {@code steps}
 * timed ones (a multiple of the compressed caches' block of 16, so that the compression and aging of new rows are
 * counted at their share). The caches take turns within each round. Prints per cache the median over rounds of the
 * mean step time, the spread over rounds, the same for the CPU time of the decoding thread (with
 * {@code -Dnq.threads=1} all the work of a step; on a shared machine it leaves out the time the thread waited for a
 * core, though not the slowdown of sharing caches and memory with other jobs), tokens/s, bytes the cache holds, the heap live after a full GC with the
 * cache filled (model, session and cache) and the peak heap of that cache's runs (which includes the garbage of
 * filling the cache). With {@code -Dnq.attend.stages=true}, then, per cache and round, what compressed attention's
 * stages took per timed step ({@link AttendStages}; the timing itself adds a little to the step).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.DecodeSpeed \
 *      [contexts=2048,8192,32768] [caches=none;dense16;high;balanced;max] [steps=16] [rounds=3] [warmup=16]
 * </pre>
 * Caches are separated by ';': {@code none} (or {@code dense32}) is the engine's default dense fp32 cache,
 * {@code dense16} the dense fp16 one, anything else a {@code --kv} spec (a preset, overrides allowed).
 */
public final class DecodeSpeed {

    /**
     * The cache a benchmark argument names: {@code none} (or {@code dense32}) the engine's default dense fp32 cache,
     * {@code dense16} the dense fp16 one, anything else a {@code --kv} spec resolved for the model (basis=auto: the
     * model's bases, fitted once).
     */
    static KvCacheFactory cacheFactory(String c, Model model) {
        return switch (c) {
            case "none", "dense32" -> DenseKvCache.FP32;
            case "dense16" -> DenseKvCache.FP16;
            default -> KvSpec.parse(c).forModel(model);
        };
    }

    public static void main(String[] args) throws Exception {
        int[] contexts = {2048, 8192, 32768};
        List<String> caches = List.of("none", "dense16", "high", "balanced", "max");
        int steps = 16, rounds = 3, warmup = 16;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "contexts" -> contexts = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "caches" -> caches = List.of(kv[1].split(";"));
                case "steps" -> steps = Integer.parseInt(kv[1]);
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "warmup" -> warmup = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        int maxCtx = Arrays.stream(contexts).max().orElse(2048) + 8 + warmup + steps;
        Path dir = Files.createTempDirectory("nq-speed");
        Path file = RandomModel.llama(8, 2, 128, GgmlType.Q8_0).dim(1024).layers(8).ffn(2816).vocab(4096)
                .context(maxCtx).types(GgmlType.Q8_0, GgmlType.Q8_0).write(dir);
        System.out.printf(Locale.ROOT, "model: random llama, dim 1024, 8 layers, 8 heads x 128, 2 KV heads, q8_0, %d cores%n",
                Runtime.getRuntime().availableProcessors());
        System.out.println("| context | cache | decode ms/token (median, min-max over rounds) | CPU ms/token of the decoding thread | tokens/s | KV bytes | ratio vs fp16 | live heap MiB | peak heap MiB |");
        System.out.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        try (Model model = Model.load(file)) {
            for (int ctx : contexts) {
                List<KvCacheFactory> factories = new ArrayList<>();
                for (String c : caches) {
                    factories.add(cacheFactory(c, model));
                }
                Row[] rows = new Row[caches.size()];
                for (int i = 0; i < rows.length; i++) rows[i] = new Row(new double[rounds]);
                for (int r = 0; r < rounds; r++) {
                    for (int i = 0; i < rows.length; i++) run(model, factories.get(i), ctx, warmup, steps, r, rows[i], r == rounds - 1);
                }
                for (int i = 0; i < rows.length; i++) {
                    Row row = rows[i];
                    double[] sorted = row.perStep.clone();
                    Arrays.sort(sorted);
                    double ms = sorted[rounds / 2];
                    double[] cpu = row.cpuPerStep.clone();
                    Arrays.sort(cpu);
                    System.out.printf(Locale.ROOT, "| %d | %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.1f | %d | %.2fx | %.0f | %.0f |%n", ctx,
                            caches.get(i), ms, sorted[0], sorted[rounds - 1], cpu[rounds / 2], cpu[0], cpu[rounds - 1], 1000 / ms,
                            row.bytes, row.ratio, row.live / 1048576.0, row.peak / 1048576.0);
                }
                if (AttendStages.enabled()) {
                    for (int i = 0; i < rows.length; i++) {
                        for (int r = 0; r < rounds; r++) {
                            System.out.printf(Locale.ROOT, "stages %d %s round %d: %s%n", ctx, caches.get(i), r, rows[i].stages[r]);
                        }
                    }
                }
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** What the rounds of one cache measured: [rounds] mean ms per step, and the last round's sizes. */
    static final class Row {
        final double[] perStep;
        final double[] cpuPerStep;
        final String[] stages; // [rounds] AttendStages of the timed steps, when on
        long bytes, live, peak;
        double ratio;

        Row(double[] perStep) {
            this.perStep = perStep;
            this.cpuPerStep = new double[perStep.length];
            this.stages = new String[perStep.length];
        }
    }

    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    static void run(Model model, KvCacheFactory f, int ctx, int warmup, int steps, int round, Row row, boolean last) {
        System.gc();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
        }
        KvCache cache = fill(model.kvLayout(), f, ctx, 42 + round);
        if (last) row.live = liveHeapAfterGc(); // the cache is reachable here
        try (Session s = model.newSession(cache)) {
            int token = 5;
            for (int i = 0; i < warmup; i++) s.forward(new int[]{token++}, 0, 1, false);
            AttendStages.reset();
            long t0 = System.nanoTime(), c0 = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < steps; i++) s.forward(new int[]{token++}, 0, 1, false);
            row.perStep[round] = (System.nanoTime() - t0) / 1e6 / steps;
            row.cpuPerStep[round] = (THREADS.getCurrentThreadCpuTime() - c0) / 1e6 / steps;
            if (AttendStages.enabled()) row.stages[round] = AttendStages.totals().perStep(steps);
            row.bytes = cache.stats().bytes();
            row.ratio = cache.stats().ratio();
        }
        row.peak = Math.max(row.peak, sumOverHeapPools(p -> p.getPeakUsage().getUsed()));
    }

    /** Heap in use after a full collection: what is live (the model's on-heap parts, the session and the cache). */
    static long liveHeapAfterGc() {
        for (int i = 0; i < 2; i++) System.gc();
        return sumOverHeapPools(p -> p.getUsage().getUsed());
    }

    static long sumOverHeapPools(java.util.function.ToLongFunction<MemoryPoolMXBean> f) {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) sum += f.applyAsLong(p);
        }
        return sum;
    }

    /** A cache holding {@code ctx} synthetic tokens, compressed as a prompt. */
    static KvCache fill(KvLayout layout, KvCacheFactory f, int ctx, long seed) {
        KvCache cache = f.create(layout);
        Random rnd = new Random(seed);
        int kvDim = layout.kvDim(), qDim = layout.qDim(), chunk = 256;
        float[] k = new float[chunk * kvDim], v = new float[chunk * kvDim], q = new float[32 * qDim];
        float[] out = new float[32 * qDim];
        for (int p0 = 0; p0 < ctx; p0 += chunk) {
            int n = Math.min(chunk, ctx - p0);
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = p0 + i;
            for (int l = 0; l < layout.layers(); l++) {
                for (int i = 0; i < n * kvDim; i++) {
                    int ch = i % layout.headDim();
                    k[i] = (float) rnd.nextGaussian() * (ch % 37 == 0 ? 8f : 1f) + (ch % 11 == 0 ? 2f : 0f);
                    v[i] = (float) rnd.nextGaussian();
                }
                cache.append(l, n, pos, k, v);
                if (p0 + n == ctx) { // the prompt's last 32 queries attend (SnapKV's observation window)
                    int m = Math.min(32, n);
                    int[] qp = new int[m];
                    for (int i = 0; i < m; i++) qp[i] = ctx - m + i;
                    for (int i = 0; i < m * qDim; i++) q[i] = (float) rnd.nextGaussian();
                    for (int h = 0; h < layout.kvHeads(); h++) cache.attend(l, h, m, qp, q, out);
                }
            }
        }
        cache.endOfPrompt();
        return cache;
    }
}
