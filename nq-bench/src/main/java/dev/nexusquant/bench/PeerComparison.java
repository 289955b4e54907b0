package dev.nexusquant.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * This engine and llama.cpp's {@code llama-bench} side by side on the same GGUF files and thread count: each round runs
 * {@link EngineBench} in a new JVM and {@code llama-bench} on every model, alternating which goes first, and the
 * table gives the medians over rounds of prefill (ppN) and decode (tgN) tokens/s, the median of the per-round ratios,
 * and the load average seen at each run (the figures mean little on a busy machine, the ratios a little more).
 * llama.cpp is not part of this project: build it yourself and give the path of its {@code llama-bench}.
 *
 * <p>{@code --warmup W} (default 1) gives both engines W untimed runs before the timed ones: this engine W runs of
 * pp + tg in its JVM (the first gives the cold figures), llama.cpp its own warm-up run and then W - 1 runs that it
 * times and that are dropped ({@code -r reps + W - 1}, the first W - 1 samples left out). With the default each gets one
 * warm-up run, as llama-bench does by itself; a JVM whose C2 still recompiles during the timed runs (the project
 * model's pp1024: a third of its steady speed in the second and third of eight prefills) reads slower than it runs
 * later, and W = 3 measures both engines in their steady state. The cold cost is not hidden: the cold prefill of
 * the first run is printed every round.
 *
 * <p>{@code --llama3-java CP} adds llama3.java (Alfonso Peterssen's single-file engine, compiled by you from its
 * public source into the class path {@code CP}; not part of this project) as a third engine in each round, run as
 * its README runs it: {@code --instruct} with a fixed English prompt in its chat template, greedy, its common pool at
 * T - 1 workers beside the caller. It feeds the prompt one token at a time and reports its own prompt and generation
 * tokens/s; its prompt rate is therefore a decode rate, not comparable with a batched ppN, and only its generation
 * rate is compared. It loads Llama-3-style GGUFs only (a {@code gpt2} vocabulary with Llama 3's special tokens, as
 * {@link BenchModel} writes); a model it cannot load is reported as such and the other two engines still run.
 *
 * <pre>
 * java -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.PeerComparison --llama-bench PATH [--llama3-java CP] \
 *      [--threads 1] [--rounds 3] [--reps 3] [--warmup 1] [--pp 1024] [--tg 64] MODEL.gguf...
 * </pre>
 */
public final class PeerComparison {

    record Run(double pp, double tg, double coldPp, String load) {
    }

    /** One llama3.java run: its own prompt and generation rates, the tokens each counted, the load at its start. */
    record Llama3Run(double promptTps, int promptTokens, double tg, int generated, String load) {
    }

    /** The prompt llama3.java gets (its chat template wraps it). */
    static final String LLAMA3_PROMPT = "The quick brown fox jumps over the lazy dog.";

    private PeerComparison() {
    }

    public static void main(String[] args) throws Exception {
        String llamaBench = null, llama3 = null;
        int threads = 1, rounds = 3, reps = 3, warmup = 1, pp = 1024, tg = 64;
        List<Path> models = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--llama-bench" -> llamaBench = args[++i];
                case "--llama3-java" -> llama3 = args[++i];
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--pp" -> pp = Integer.parseInt(args[++i]);
                case "--tg" -> tg = Integer.parseInt(args[++i]);
                default -> models.add(Path.of(args[i]));
            }
        }
        if (llamaBench == null || models.isEmpty()) {
            System.err.println("usage: PeerComparison --llama-bench PATH [--llama3-java CLASSPATH] [--threads T] [--rounds R] [--reps N] [--warmup W] [--pp N] [--tg N] MODEL.gguf...");
            System.exit(2);
        }
        if (warmup < 1 || reps < 1 || rounds < 1) {
            System.err.println("--warmup, --reps and --rounds must be at least 1");
            System.exit(2);
        }
        for (Path m : models) {
            if (!Files.isRegularFile(m)) {
                System.err.println("no such model file: " + m);
                System.exit(2);
            }
        }
        System.out.printf("threads %d, %d rounds, pp%d / tg%d, %d timed reps per run (after %s), CPU: %s%n",
                threads, rounds, pp, tg, reps, warmup == 1 ? "one warm-up run" : warmup + " warm-up runs for each engine", cpuName());
        for (Path m : models) {
            List<Run> ours = new ArrayList<>(), peer = new ArrayList<>();
            List<Llama3Run> third = new ArrayList<>();
            int llama3Prompt = -1; // llama3.java's prompt length on this model, once known; 0: it cannot load the model
            if (llama3 != null) {
                try {
                    llama3Prompt = llama3PromptTokens(llama3, m);
                } catch (IllegalStateException e) {
                    llama3Prompt = 0;
                    System.out.printf("  %s: llama3.java cannot run it (%s)%n", m.getFileName(), failure(e.getMessage()));
                }
            }
            for (int r = 0; r < rounds; r++) {
                if (r % 2 == 0) {
                    ours.add(runOurs(m, threads, pp, tg, reps, warmup));
                    peer.add(runPeer(llamaBench, m, threads, pp, tg, reps, warmup));
                    if (llama3Prompt > 0) third.add(runLlama3(llama3, m, threads, llama3Prompt, tg));
                } else {
                    if (llama3Prompt > 0) third.add(runLlama3(llama3, m, threads, llama3Prompt, tg));
                    peer.add(runPeer(llamaBench, m, threads, pp, tg, reps, warmup));
                    ours.add(runOurs(m, threads, pp, tg, reps, warmup));
                }
                System.out.printf(Locale.ROOT, "  %s round %d: nq pp %.1f tg %.1f (cold pp %.1f; load %s) | llama.cpp pp %.1f tg %.1f (load %s)%s%n",
                        m.getFileName(), r + 1, ours.get(r).pp, ours.get(r).tg, ours.get(r).coldPp, ours.get(r).load,
                        peer.get(r).pp, peer.get(r).tg, peer.get(r).load,
                        third.isEmpty() ? "" : String.format(Locale.ROOT, " | llama3.java prompt %.1f (%d tokens) tg %.1f (%d tokens; load %s)",
                                third.get(r).promptTps, third.get(r).promptTokens, third.get(r).tg, third.get(r).generated, third.get(r).load));
            }
            double[] ppRatio = new double[rounds], tgRatio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ppRatio[r] = ours.get(r).pp / peer.get(r).pp;
                tgRatio[r] = ours.get(r).tg / peer.get(r).tg;
            }
            System.out.printf(Locale.ROOT, "| %s | %d | pp%d | %.1f | %.1f | **%.2fx** | tg%d | %.1f | %.1f | **%.2fx** | %s |%n",
                    m.getFileName(), threads, pp, median(ours.stream().mapToDouble(Run::pp).toArray()),
                    median(peer.stream().mapToDouble(Run::pp).toArray()), median(ppRatio), tg,
                    median(ours.stream().mapToDouble(Run::tg).toArray()), median(peer.stream().mapToDouble(Run::tg).toArray()),
                    median(tgRatio), loads(ours, peer));
            if (!third.isEmpty()) {
                double[] l3Ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) l3Ratio[r] = ours.get(r).tg / third.get(r).tg;
                System.out.printf(Locale.ROOT, "| %s | %d | llama3.java | tg%d: ours %.1f, llama3.java %.1f | **%.2fx** ours / llama3.java (median of rounds) |"
                                + " its prompt, one token at a time: %.1f tokens/s (%d tokens) | load %s |%n",
                        m.getFileName(), threads, tg, median(ours.stream().mapToDouble(Run::tg).toArray()),
                        median(third.stream().mapToDouble(Llama3Run::tg).toArray()), median(l3Ratio),
                        median(third.stream().mapToDouble(Llama3Run::promptTps).toArray()), third.get(0).promptTokens,
                        String.join(", ", third.stream().map(Llama3Run::load).toList()));
            }
        }
    }

    /** The java command that runs llama3.java from {@code classPath} on {@code model}, {@code maxTokens} positions in all. */
    static List<String> llama3Command(String classPath, Path model, int threads, int maxTokens) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-preview", "--add-modules", "jdk.incubator.vector",
                "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + (threads - 1),
                "-cp", classPath, "com.llama4j.Llama3", "--model", model.toString(), "--instruct", "--prompt", LLAMA3_PROMPT,
                "--max-tokens", String.valueOf(maxTokens), "--temperature", "0", "--stream", "false");
    }

    /**
     * The tokens of llama3.java's prompt on this model (its chat template included): one run whose context ends inside
     * the prompt, so that it generates nothing and reports the prompt's length.
     */
    static int llama3PromptTokens(String classPath, Path model) throws Exception {
        return parseLlama3(run(llama3Command(classPath, model, 1, 2)), "?").promptTokens;
    }

    /** One llama3.java run generating {@code tg} tokens after its prompt of {@code promptTokens}. */
    static Llama3Run runLlama3(String classPath, Path model, int threads, int promptTokens, int tg) throws Exception {
        String load = loadAverage();
        return parseLlama3(run(llama3Command(classPath, model, threads, promptTokens + tg)), load);
    }

    /** llama3.java's last line: {@code context: C/M prompt: X tokens/s (N) generation: Y tokens/s (G)}. */
    static Llama3Run parseLlama3(String out, String load) {
        Matcher m = Pattern.compile("prompt: (-?[0-9.]+) tokens/s \\(([0-9]+)\\) generation: (-?[0-9.]+) tokens/s \\(([0-9]+)\\)").matcher(out);
        if (!m.find()) throw new IllegalStateException("no llama3.java rates in its output:\n" + out);
        return new Llama3Run(Double.parseDouble(m.group(1)), Integer.parseInt(m.group(2)), Double.parseDouble(m.group(3)),
                Integer.parseInt(m.group(4)), load);
    }

    /** The line of a failed run's output that names the exception that stopped it, else the message's first line. */
    static String failure(String s) {
        if (s == null) return "no message";
        String[] lines = s.strip().split("\n");
        for (String l : lines) if (l.contains("Exception") || l.contains("Error:")) return l.strip();
        return lines[0].strip();
    }

    static Run runOurs(Path model, int threads, int pp, int tg, int reps, int warmup) throws Exception {
        String load = loadAverage();
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC",
                "-Dnq.threads=" + threads, "-cp", System.getProperty("java.class.path"), EngineBench.class.getName(),
                model.toString(), String.valueOf(pp), String.valueOf(tg), String.valueOf(reps), String.valueOf(warmup));
        String out = run(cmd);
        return new Run(number(out, "\"pp_tps\":([0-9.]+)"), number(out, "\"tg_tps\":([0-9.]+)"), number(out, "\"cold_pp_tps\":([0-9.]+)"), load);
    }

    /**
     * llama-bench's JSON: one object per test, with {@code n_prompt}, {@code n_gen} and {@code samples_ts}; with
     * {@code warmup} > 1 it runs {@code reps + warmup - 1} times and the first {@code warmup - 1} samples are dropped.
     */
    static Run runPeer(String llamaBench, Path model, int threads, int pp, int tg, int reps, int warmup) throws Exception {
        String load = loadAverage();
        String out = run(List.of(llamaBench, "-m", model.toString(), "-p", String.valueOf(pp), "-n", String.valueOf(tg),
                "-t", String.valueOf(threads), "-r", String.valueOf(reps + warmup - 1), "-o", "json"));
        double ppTs = Double.NaN, tgTs = Double.NaN;
        for (String obj : out.split("\\}")) {
            Matcher samples = Pattern.compile("\"samples_ts\"\\s*:\\s*\\[([^\\]]*)\\]").matcher(obj);
            if (!samples.find()) continue;
            double ts = median(timedSamples(samples.group(1), warmup - 1));
            if (number(obj, "\"n_gen\"\\s*:\\s*([0-9]+)") == 0) ppTs = ts;
            else tgTs = ts;
        }
        return new Run(ppTs, tgTs, Double.NaN, load);
    }

    /** The samples of llama-bench's {@code samples_ts} list (in run order) after the first {@code drop}. */
    static double[] timedSamples(String list, int drop) {
        double[] all = Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToDouble(Double::parseDouble).toArray();
        if (all.length <= drop) throw new IllegalStateException("llama-bench gave " + all.length + " samples, " + drop + " to drop: " + list);
        return Arrays.copyOfRange(all, drop, all.length);
    }

    static String run(List<String> cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("peer", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(1800, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            String out = Files.readString(log);
            if (p.exitValue() != 0) throw new IllegalStateException("exit " + p.exitValue() + ": " + String.join(" ", cmd) + "\n" + out);
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) throw new IllegalStateException("no " + regex + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    static String loads(List<Run> a, List<Run> b) {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            all.add(a.get(i).load);
            all.add(b.get(i).load);
        }
        return "load " + String.join(", ", all);
    }

    static String cpuName() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?")
                    + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        } catch (IOException e) {
            return "?";
        }
    }

    static double median(double[] v) {
        return EngineBench.median(v);
    }
}
