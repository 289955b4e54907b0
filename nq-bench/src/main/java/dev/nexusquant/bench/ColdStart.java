package dev.nexusquant.bench;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Time to first token of a cold {@code ./nq generate} against a warm one, for several launcher settings, interleaved.
 *
 * <p>Each round runs, for every setting in turn: a cold run (a new process streaming its tokens; the time from
 * starting {@code ./nq} to the first byte it writes on stdout: launcher, JVM start, class loading, model load,
 * tokenization, prefill and the first decode step, JIT included) and a warm run ({@code --warmup --json}: the same
 * generation once untimed, then the time from the timed generation's start to its first token, as the CLI reports
 * it in {@code time_to_first_token_seconds}). Before the rounds every setting runs once untimed (page cache, and
 * the launcher's startup cache when the setting uses one). Prints per setting the medians, the spread (min-max), the
 * cold/warm ratio of the medians and the load averages seen.
 *
 * <p>With {@code --cpu}, each round also runs the cold command once more with {@code --json} and reads the CPU time the
 * whole process had used when its first token came ({@code process_cpu_seconds_at_first_token}: every thread, the
 * JIT's compilers and the GC included) and the model's load time: on a loaded machine the wall-clock times spread
 * 2x from round to round, the CPU a cold start spends much less.
 *
 * <p>{@code --prompt-file} may be given several times: each round then runs every setting on every prompt (prompts
 * outer), and the tables have one row per pair, with the prompt's length in tokens.
 *
 * <pre>
 * java -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.ColdStart --nq ./nq --model model/default.gguf \
 *      --prompt-file PROMPT.txt [--prompt-file PROMPT2.txt ...] [--tokens 4] [--rounds 5] [--cpu] [--setting 'NAME|ENV=VALUE|ENV=VALUE'] ...
 * </pre>
 * A setting names environment variables for the launcher, e.g. {@code 'aot|NQ_AOT=on'} or
 * {@code 'plain|NQ_AOT=off|NQ_JAVA_OPTS=-Dnq.threads=1'}; without any, one setting {@code default} runs.
 */
public final class ColdStart {

    record Setting(String name, Map<String, String> env) {
        static Setting parse(String spec) {
            String[] parts = spec.split("\\|");
            Map<String, String> env = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("setting " + spec + ": '" + parts[i] + "' is not ENV=VALUE");
                env.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
            if (parts[0].isBlank()) throw new IllegalArgumentException("setting " + spec + " has no name");
            return new Setting(parts[0], env);
        }
    }

    public static void main(String[] args) throws Exception {
        String nq = "./nq", model = null;
        List<String> prompts = new ArrayList<>();
        int tokens = 4, rounds = 5;
        boolean cpu = false;
        List<Setting> settings = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--cpu")) {
                cpu = true;
                continue;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + a);
            String v = args[++i];
            switch (a) {
                case "--nq" -> nq = v;
                case "--model" -> model = v;
                case "--prompt-file" -> prompts.add(v);
                case "--tokens" -> tokens = Integer.parseInt(v);
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--setting" -> settings.add(Setting.parse(v));
                case "--arg" -> extra.add(v);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (model == null || prompts.isEmpty()) throw new IllegalArgumentException("--model and --prompt-file are needed");
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be at least 1: " + rounds);
        if (settings.isEmpty()) settings.add(new Setting("default", Map.of()));
        List<Cell> cells = cells(nq, model, prompts, tokens, extra, settings);

        for (Cell c : cells) { // untimed: page cache, startup caches
            cold(c.base(), c.setting());
        }
        int n = cells.size();
        double[][] cold = new double[n][rounds], warm = new double[n][rounds];
        double[][] coldCpu = new double[n][rounds], load = new double[n][rounds];
        int[] promptTokens = new int[n];
        List<List<String>> loads = new ArrayList<>();
        for (int i = 0; i < n; i++) loads.add(new ArrayList<>());
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < n; i++) {
                Cell c = cells.get(i);
                loads.get(i).add(PeerComparison.loadAverage());
                cold[i][r] = cold(c.base(), c.setting());
                String warmJson = warmJson(c.base(), c.setting());
                warm[i][r] = PeerComparison.number(warmJson, "\"time_to_first_token_seconds\":([0-9.Ee-]+)");
                promptTokens[i] = (int) PeerComparison.number(warmJson, "\"prompt_tokens\":([0-9]+)");
                if (cpu) {
                    String json = coldJson(c.base(), c.setting());
                    coldCpu[i][r] = PeerComparison.number(json, "\"process_cpu_seconds_at_first_token\":([0-9.Ee-]+)");
                    load[i][r] = PeerComparison.number(json, "\"model_load_seconds\":([0-9.Ee-]+)");
                }
                System.out.printf(Locale.ROOT, "  round %d %s (%d prompt tokens): cold %.3f s, warm %.3f s, cold/warm %.2fx%s (load %s)%n",
                        r + 1, c.name(), promptTokens[i], cold[i][r], warm[i][r], cold[i][r] / warm[i][r],
                        cpu ? String.format(Locale.ROOT, ", cold CPU %.2f s (model load %.3f s)", coldCpu[i][r], load[i][r]) : "",
                        loads.get(i).getLast());
            }
        }
        System.out.println("| setting | prompt tokens | cold first token s (median, min-max) | warm first token s (median, min-max) | cold / warm (of medians) | cold / warm per round (median) | load |");
        System.out.println("|---|---:|---:|---:|---:|---:|---|");
        for (int i = 0; i < n; i++) {
            double c = EngineBench.median(cold[i].clone()), w = EngineBench.median(warm[i].clone());
            double[] perRound = new double[rounds];
            for (int r = 0; r < rounds; r++) perRound[r] = cold[i][r] / warm[i][r];
            System.out.printf(Locale.ROOT, "| %s | %d | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | **%.2fx** | %.2fx | %s |%n", cells.get(i).name(),
                    promptTokens[i], c, min(cold[i]), max(cold[i]), w, min(warm[i]), max(warm[i]), c / w,
                    EngineBench.median(perRound), String.join(",", loads.get(i)));
        }
        if (cpu) {
            System.out.println("| setting | cold: CPU s at the first token (median, min-max) | cold: model load s (median, min-max) |");
            System.out.println("|---|---:|---:|");
            for (int i = 0; i < n; i++) {
                System.out.printf(Locale.ROOT, "| %s | %.2f (%.2f-%.2f) | %.3f (%.3f-%.3f) |%n", cells.get(i).name(),
                        EngineBench.median(coldCpu[i].clone()), min(coldCpu[i]), max(coldCpu[i]),
                        EngineBench.median(load[i].clone()), min(load[i]), max(load[i]));
            }
        }
    }

    /** One column of the rounds: a setting run on one prompt ({@code base}: the command without the timing flags). */
    record Cell(String name, Setting setting, List<String> base) {
    }

    /**
     * One cell per (prompt, setting), in the order each round runs them: prompts outer, settings inner. A cell is named
     * after its setting, and after its prompt too when there are several.
     */
    static List<Cell> cells(String nq, String model, List<String> prompts, int tokens, List<String> extra, List<Setting> settings) {
        List<Cell> cells = new ArrayList<>();
        for (String prompt : prompts) {
            List<String> base = new ArrayList<>(List.of(nq, "generate", "--model", model, "--prompt-file", prompt,
                    "-n", String.valueOf(tokens), "-t", "0"));
            base.addAll(extra);
            for (Setting s : settings) cells.add(new Cell(prompts.size() > 1 ? s.name() + " @ " + prompt : s.name(), s, List.copyOf(base)));
        }
        return cells;
    }

    /** Seconds from starting the launcher to the first byte it writes on stdout (the first generated piece). */
    static double cold(List<String> base, Setting s) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(base).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(s.env());
        long t0 = System.nanoTime();
        Process p = pb.start();
        double first = Double.NaN;
        try (InputStream in = p.getInputStream()) {
            if (in.read() >= 0) first = (System.nanoTime() - t0) / 1e9;
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        finish(p, base);
        if (Double.isNaN(first)) throw new IllegalStateException(s.name() + ": the cold run printed nothing");
        return first;
    }

    /** The {@code --json} output of one more cold run (a new process; its timings are the CLI's own). */
    static String coldJson(List<String> base, Setting s) throws IOException, InterruptedException {
        return jsonRun(base, s, "--json");
    }

    /**
     * The {@code --warmup --json} output of one run: its {@code time_to_first_token_seconds} is the CLI's own time to
     * first token of the timed generation after an untimed one in the same process.
     */
    static String warmJson(List<String> base, Setting s) throws IOException, InterruptedException {
        return jsonRun(base, s, "--warmup", "--json");
    }

    /** Runs {@code base} with {@code extra} arguments in a new process under the setting's environment: its stdout. */
    private static String jsonRun(List<String> base, Setting s, String... extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(s.env());
        Process p = pb.start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        finish(p, cmd);
        return out;
    }

    private static void finish(Process p, List<String> cmd) throws InterruptedException {
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) throw new IllegalStateException("exit " + p.exitValue() + ": " + String.join(" ", cmd));
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    private ColdStart() {
    }
}
