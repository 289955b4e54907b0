package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.eval.retrieval.CopyTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** {@code nq copy}: copy retrieval with the uncompressed baseline beside the chosen cache. */
@Command(name = "copy", mixinStandardHelpOptions = true,
        description = {"Copy retrieval: a random sequence of word tokens (or a passage of --text) and its repeat.",
                "The first occurrence is compressed as a prompt and the repeat is teacher-forced.",
                "Prints top-1 accuracy and NLL on the repeat for the uncompressed cache and for --kv."})
public final class CopyCommand extends ModelCommand {

    @Option(names = "--length", paramLabel = "N", defaultValue = "256", description = "Tokens in the sequence (default: ${DEFAULT-VALUE}).")
    int length;

    @Option(names = "--trials", paramLabel = "T", defaultValue = "4", description = "Sequences or passages (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random sequences (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--text", paramLabel = "FILE",
            description = "Copy passages of this text instead of random word tokens (small models copy text, not random words).")
    java.nio.file.Path text;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (length < 2 || length > 1 << 20) throw new IllegalArgumentException("--length must be in 2..1048576, is " + length);
        if (trials < 1 || trials > 10_000) throw new IllegalArgumentException("--trials must be in 1..10000, is " + trials);
        PrintWriter out = out();
        try (Model model = modelOption.load()) {
            KvCacheFactory f = kv.factory(model);
            int[][] seqs = text != null
                    ? CopyTask.passages(dev.nexusquant.engine.eval.Perplexity.tokenizeFile(model, text), length, trials)
                    : CopyTask.sequences(model, length, trials, seed);
            ProgressBar bar = progress("copy", true);
            int n = seqs.length;
            CopyTask.Result base = CopyTask.run(model, model.kvCacheFactory(), seqs, (done, all) -> bar.update(done, 2 * n, "uncompressed"));
            CopyTask.Result comp = CopyTask.run(model, f, seqs, (done, all) -> bar.update(n + done, 2 * n, "--kv"));
            bar.finish();
            if (json) {
                out.println(new Json().put("model", model.config().name()).put("length", length).put("trials", trials)
                        .put("seed", seed).put("source", text != null ? text.toString() : "random words")
                        .put("predictions", comp.predictions()).put("prior_accuracy", base.priorAccuracy())
                        .put("baseline", result(base, model.kvCacheFactory().describe()))
                        .put("compressed", result(comp, f.describe())));
            } else {
                out.printf("copy retrieval on %s: %d %s of %d tokens, %d predictions; without the first occurrence: top-1 %.4f%n",
                        model.config().name(), trials, text != null ? "passages of " + text : "random word sequences",
                        length, comp.predictions(), base.priorAccuracy());
                out.printf("  %-12s top-1 %.4f  NLL %.4f  (%s)%n", "uncompressed", base.accuracy(), base.nll(), model.kvCacheFactory().describe());
                out.printf("  %-12s top-1 %.4f  NLL %.4f  ratio %.2fx, %.0f of %d tokens kept (%s)%n", "compressed",
                        comp.accuracy(), comp.nll(), comp.lastStats().ratio(), comp.lastStats().tokensKept(),
                        comp.lastStats().tokensSeen(), f.describe());
            }
        }
        return 0;
    }

    static Json result(CopyTask.Result r, String cache) {
        return new Json().put("kv_cache", cache).put("accuracy", r.accuracy()).put("nll", r.nll())
                .put("kv_bytes", r.lastStats().bytes()).put("kv_fp16_bytes", r.lastStats().fp16Bytes())
                .put("kv_ratio", r.lastStats().ratio()).put("kept_tokens", r.lastStats().tokensKept());
    }
}
