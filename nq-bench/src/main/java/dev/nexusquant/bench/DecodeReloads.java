package dev.nexusquant.bench;

import dev.nexusquant.engine.model.Model;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * What separates two processes of one build that decode at different speeds: in one JVM the model is loaded
 * {@code loads} times (each load packs the weights into newly mapped memory, moved onto huge pages, and closes the
 * previous one first), and each load decodes {@code reps} runs of {@code tg} tokens after one untimed run. The JIT's
 * code is the same for every load after the first; the memory the weights sit in is new each time; the time moves on.
 * Loads whose runs agree with each other but not with the other loads point at placement; every run moving alike,
 * load or not, points at the host; the first load alone slower, at the JIT.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dnq.threads=1 -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.DecodeReloads MODEL.gguf [tg=32] [reps=3] [loads=4]</pre>
 *
 * One line per load: tokens/s of each run, and the calling thread's CPU time per token (ms) of each run.
 */
public final class DecodeReloads {

    private DecodeReloads() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DecodeReloads MODEL.gguf [tg=32] [reps=3] [loads=4]");
            System.exit(2);
        }
        Path path = Path.of(args[0]);
        int tg = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int loads = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        if (tg < 1 || reps < 1 || loads < 1) throw new IllegalArgumentException("tg, reps and loads must be positive");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int l = 0; l < loads; l++) {
            try (Model m = Model.load(path)) {
                m.awaitWeightsSettled();
                Random r = new Random(1);
                int[] tokens = new int[tg];
                for (int i = 0; i < tg; i++) tokens[i] = r.nextInt(m.config().vocabSize());
                EngineBench.generate(m, tokens, tg);
                StringBuilder tps = new StringBuilder(), cpu = new StringBuilder();
                for (int i = 0; i < reps; i++) {
                    long c0 = threads.getCurrentThreadCpuTime();
                    double s = EngineBench.generate(m, tokens, tg);
                    double ms = (threads.getCurrentThreadCpuTime() - c0) / 1e6 / tg;
                    tps.append(String.format(Locale.ROOT, " %6.2f", tg / s));
                    cpu.append(String.format(Locale.ROOT, " %6.2f", ms));
                }
                System.out.printf(Locale.ROOT, "load %d: tg/s%s | cpu ms/token%s | JVM uptime %d ms | load average %s%n", l, tps, cpu,
                        ManagementFactory.getRuntimeMXBean().getUptime(),
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            }
        }
    }
}
