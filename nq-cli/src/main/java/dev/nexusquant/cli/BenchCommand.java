package dev.nexusquant.cli;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.eval.bench.BenchRunner;
import dev.nexusquant.eval.bench.Method;
import dev.nexusquant.eval.bench.MethodCatalog;
import dev.nexusquant.eval.perplexity.ChunkSelection;
import dev.nexusquant.eval.perplexity.ChunkedPerplexity;
import dev.nexusquant.eval.perplexity.Protocol;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code nq bench}: every method side by side; Markdown table, CSV and trade-off PNG. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run NexusQuant and the baselines on the same model, text, chunks and retrieval prompts, and write"
                + " bench.md, bench.csv and tradeoff.png into --out.")
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = {"-f", "--text"}, paramLabel = "FILE", description = "UTF-8 text file (required unless --replot).")
    Path text;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", defaultValue = "0", description = "Tokens per chunk (default: the model's context, at most 2048).")
    int ctx;

    @Option(names = "--first-chunk", paramLabel = "C", defaultValue = "0", description = "First chunk scored (default: ${DEFAULT-VALUE}).")
    int firstChunk;

    @Option(names = "--chunks", paramLabel = "WHICH", defaultValue = "4",
            description = {"Chunks scored per method: a count K (the K chunks from --first-chunk on), or as in nq perplexity:"
                    + " dev (index %% 5 == 0, for choosing settings), report (index %% 5 == 2, for reporting), all, or a"
                    + " list such as 2,7,10-12 (default: ${DEFAULT-VALUE})."})
    String chunks;

    @Option(names = "--max-chunks", paramLabel = "K", defaultValue = "0", description = "Score at most K of the selected chunks (default: all).")
    int maxChunks;

    @Option(names = "--protocol", paramLabel = "P", defaultValue = "streaming",
            description = "context (the prompt's half compressed once, the continuation kept in full) or streaming (the"
                    + " continuation compressed as it ages too; the ratio over every row) (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--chunk-threads", paramLabel = "N", defaultValue = "1",
            description = "Chunks evaluated at once (results do not depend on it; default: ${DEFAULT-VALUE}).")
    int chunkThreads;

    @Option(names = "--methods", paramLabel = "G,..", split = ",", defaultValue = "fp16,fp8,q8_0,q4_0,kivi,turboquant,eviction,nexusquant,grid",
            description = "Method groups: all, fp16, fp8, q8_0, q4_0, kivi, turboquant, eviction, nexusquant, previous,"
                    + " grid (default: ${DEFAULT-VALUE}; the first is the reference; previous = the presets' fixed recipes"
                    + " before they became byte budgets); GROUP:I or GROUP:I-J runs the group's methods I to J (from 1),"
                    + " to split one bench over processes.")
    List<String> methods;

    @Option(names = "--spec", paramLabel = "SPEC", description = "Also run this --kv spec (repeatable).")
    List<String> specs = new java.util.ArrayList<>();

    @Option(names = "--copy-length", paramLabel = "N", defaultValue = "0", description = "Copy passage length (default: ctx/4).")
    int copyLength;

    @Option(names = "--copy-trials", paramLabel = "T", defaultValue = "2", description = "Copy passages (default: ${DEFAULT-VALUE}).")
    int copyTrials;

    @Option(names = "--passkey", description = "Also run passkey retrieval (skipped for all when the reference scores below 50%%).")
    boolean passkey;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32", description = "Tokens timed for decode speed (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "bench-out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--replot", description = "Run nothing: draw tradeoff.png again from the bench.csv and bench.md in --out.")
    boolean replot;

    @Option(names = "--merge", paramLabel = "DIR,..", split = ",",
            description = "Run nothing: put the folders of several runs of one bench (the methods split over processes,"
                    + " each beginning with the same reference) into --out as one table, with each run's command.")
    List<Path> merge;

    @Override
    public Integer call() throws Exception {
        if (merge != null) {
            int n = dev.nexusquant.eval.bench.BenchMerge.merge(merge, out);
            spec.commandLine().getOut().println("merged " + n + " rows from " + merge.size() + " runs into " + out);
            return 0;
        }
        if (replot) {
            int n = BenchRunner.replot(out);
            spec.commandLine().getOut().println("drew " + n + " points into " + out.resolve("tradeoff.png"));
            return 0;
        }
        if (text == null) throw new IllegalArgumentException("--text is required");
        InputFile.regular(text, "text file");
        if (maxChunks < 0) throw new IllegalArgumentException("--max-chunks must be >= 0, is " + maxChunks);
        if (chunkThreads < 1 || chunkThreads > 256) throw new IllegalArgumentException("--chunk-threads must be in 1..256, is " + chunkThreads);
        Protocol proto = Protocol.parse(protocol);
        ChunkSelection selection = chunkSelection(chunks, firstChunk);
        if (firstChunk < 0) throw new IllegalArgumentException("--first-chunk must be >= 0, is " + firstChunk);
        if (copyTrials < 1 || copyTrials > 1000) throw new IllegalArgumentException("--copy-trials must be in 1..1000, is " + copyTrials);
        if (decodeTokens < 1 || decodeTokens > 100_000) throw new IllegalArgumentException("--decode-tokens must be in 1..100000, is " + decodeTokens);
        List<Method> list = new java.util.ArrayList<>(MethodCatalog.select(methods));
        for (String sp : specs) list.add(new Method("custom", sp, dev.nexusquant.kv.KvSpec.parse(sp)));
        PrintWriter o = spec.commandLine().getOut();
        try (Model model = modelOption.load()) {
            int n = ctx > 0 ? ctx : Math.min(2048, model.config().contextLength());
            if (n < 64 || (n & 1) != 0 || n > model.config().contextLength()) {
                throw new IllegalArgumentException("--ctx must be even, at least 64 and at most the model's context "
                        + model.config().contextLength() + ", is " + n);
            }
            int[] tokens = Perplexity.tokenizeFile(model, text);
            int available = ChunkedPerplexity.available(tokens.length, n);
            if (available == 0) {
                throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than one chunk of " + n
                        + " (use a smaller --ctx or a longer text)");
            }
            int[] picked = selection.select(available, Math.min(firstChunk, available), maxChunks);
            int cl = copyLength > 0 ? copyLength : n / 4;
            if (2 * cl + 1 > n) throw new IllegalArgumentException("--copy-length must be at most (ctx - 1) / 2");
            ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), Terminal.stderrIsTerminal(), "bench");
            List<BenchRunner.Row> rows = BenchRunner.run(model, tokens, list,
                    new BenchRunner.Options(n, picked, proto, chunkThreads, cl, copyTrials, passkey, 2, decodeTokens),
                    (done, total, what) -> bar.update(done, total, what));
            bar.finish();
            String command = "./nq bench --model " + modelOption.resolve() + " --text " + text + " --ctx " + n
                    + (firstChunk > 0 ? " --first-chunk " + firstChunk : "") + " --chunks " + chunks
                    + (maxChunks > 0 ? " --max-chunks " + maxChunks : "") + " --protocol " + proto.label()
                    + " --methods " + String.join(",", methods)
                    + (passkey ? " --passkey" : "") + specs.stream().map(x -> " --spec '" + x + "'").collect(java.util.stream.Collectors.joining())
                    + " --out " + out;
            String md = BenchRunner.write(out, "KV-cache compression on " + modelOption.resolve().toRealPath().getFileName() + ", "
                    + text.getFileName() + ", ctx " + n + ", " + proto.label() + " protocol, " + describe(picked), command, rows);
            o.print(md);
            o.println("\nwrote " + out.resolve("bench.md") + ", " + out.resolve("bench.csv") + ", " + out.resolve("tradeoff.png"));
        }
        return 0;
    }

    /** {@code --chunks}: a bare count K is the K chunks from {@code first} on (the option's first meaning). */
    static ChunkSelection chunkSelection(String chunks, int first) {
        String c = chunks.trim();
        if (c.matches("\\d{1,9}")) {
            int k = Integer.parseInt(c);
            if (k < 1 || k > 100_000) throw new IllegalArgumentException("--chunks must be in 1..100000, is " + k);
            return new ChunkSelection(Math.max(first, 0) + "-" + (Math.max(first, 0) + k - 1));
        }
        return new ChunkSelection(c);
    }

    /** "chunks 100..101" for a run of consecutive chunks, else "N chunks (2, 7, ..., 112)". */
    static String describe(int[] c) {
        if (c[c.length - 1] - c[0] == c.length - 1) return "chunks " + c[0] + ".." + c[c.length - 1];
        StringBuilder sb = new StringBuilder().append(c.length).append(" chunks (");
        for (int i = 0; i < c.length; i++) {
            if (c.length > 6 && i == 3) {
                sb.append("..., ");
                i = c.length - 2;
                continue;
            }
            sb.append(c[i]).append(i + 1 < c.length ? ", " : ")");
        }
        return sb.toString();
    }
}
