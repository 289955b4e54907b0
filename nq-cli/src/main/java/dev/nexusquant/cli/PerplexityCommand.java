package dev.nexusquant.cli;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.eval.perplexity.ChunkScore;
import dev.nexusquant.eval.perplexity.ChunkSelection;
import dev.nexusquant.eval.analysis.LossAnalysis;
import dev.nexusquant.eval.perplexity.ChunkedPerplexity;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.eval.perplexity.Protocol;
import dev.nexusquant.eval.perplexity.Spread;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code nq perplexity}: llama.cpp's llama-perplexity protocol on a text file. */
@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = {"Perplexity of a model on a text file, with llama.cpp's llama-perplexity protocol.",
                "The text is tokenized once with BOS and cut into chunks of --ctx tokens (the first token of each set to"
                        + " BOS); the second half of each chunk is scored after the first half was prefilled."})
public final class PerplexityCommand extends ModelCommand {

    @Option(names = {"-f", "--text"}, paramLabel = "FILE", required = true, description = "UTF-8 text file")
    Path text;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", defaultValue = "512", description = "tokens per chunk (default: ${DEFAULT-VALUE})")
    int ctx;

    @Option(names = "--max-chunks", paramLabel = "K", defaultValue = "0", description = "evaluate at most K of the selected chunks (default: all)")
    int maxChunks;

    @Option(names = "--first-chunk", paramLabel = "C", defaultValue = "0",
            description = "start at chunk C (0-based), e.g. to report on chunks not used to choose settings")
    int firstChunk;

    @Option(names = "--chunks", paramLabel = "WHICH", defaultValue = "all",
            description = {"chunks to evaluate: all, dev (index %% 5 == 0, for choosing settings), report (index %% 5 == 2,"
                    + " for reporting; never a dev chunk) or a list such as 3,7,10-12 (default: ${DEFAULT-VALUE})"})
    String chunks;

    @Option(names = "--protocol", paramLabel = "P", defaultValue = "streaming",
            description = {"streaming: the continuation is compressed too as it ages, ratio over every row (default);"
                    + " context: only the prompt's half is compressed, the continuation stays full precision, ratio over"
                    + " the prompt's rows"})
    String protocol;

    @Option(names = "--baseline", description = "also run the uncompressed (dense) cache on the same chunks and report"
            + " the change per chunk: mean, median, min, max")
    boolean baseline;

    @Option(names = "--analysis", paramLabel = "NAME",
            description = "split the --kv setting's loss (an analysis, not a setting): oracle (rankings by the attention a dense pass"
                    + " sees each row receive later; oracle-same-plans: the plans made with the setting's ranking; oracle-prompt / oracle-aging: at the prompt's end / when rows age only), oracle-fp32 (the rows the oracle keeps, read at full precision),"
                    + " codes (no row dropped, the plans' codecs)")
    String analysis;

    @Option(names = "--json", description = "print one JSON object (with a per-chunk list), no progress bar")
    boolean json;

    @Option(names = "--chunk-threads", paramLabel = "N",
            description = "chunks evaluated at once (default: all cores for models under 4M parameters, else 1)")
    Integer chunkThreads;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        if (ctx < 4 || (ctx & 1) != 0 || ctx > (1 << 20)) throw new IllegalArgumentException("--ctx must be an even number in 4..1048576, is " + ctx);
        if (firstChunk < 0) throw new IllegalArgumentException("--first-chunk must be >= 0, is " + firstChunk);
        if (maxChunks < 0) throw new IllegalArgumentException("--max-chunks must be >= 0, is " + maxChunks);
        if (chunkThreads != null && (chunkThreads < 1 || chunkThreads > 256)) {
            throw new IllegalArgumentException("--chunk-threads must be in 1..256, is " + chunkThreads);
        }
        Protocol proto = Protocol.parse(protocol);
        LossAnalysis analysed = analysis == null ? null : LossAnalysis.parse(analysis);
        ChunkSelection selection = new ChunkSelection(chunks);
        InputFile.regular(text, "text file");
        try (Model model = modelOption.load()) {
            if (ctx > model.config().contextLength()) {
                throw new IllegalArgumentException("--ctx " + ctx + " exceeds the model's context length " + model.config().contextLength());
            }
            int[] tokens = Perplexity.tokenizeFile(model, text);
            int available = ChunkedPerplexity.available(tokens.length, ctx);
            if (available == 0) {
                throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than one chunk of " + ctx
                        + " (use a smaller --ctx or a longer text)");
            }
            if (firstChunk >= available) {
                throw new IllegalArgumentException("the text has " + available + " chunks of " + ctx + ", so chunk "
                        + firstChunk + " does not exist");
            }
            int[] picked = selection.select(available, firstChunk, maxChunks);
            KvCacheFactory factory = kv.factory(model);
            int threads = chunkThreads != null ? chunkThreads : Perplexity.autoChunkThreads(model);
            ChunkedPerplexity.Result base = null;
            if (baseline) {
                ProgressBar bb = progress("baseline", !json);
                base = ChunkedPerplexity.evaluate(model, tokens, ctx, picked, model.kvCacheFactory(), proto,
                        (done, total, ppl) -> bb.update(done, total, String.format("ppl %.4f", ppl)), threads);
                bb.finish();
            }
            ProgressBar bar = progress("perplexity", !json);
            ProgressListener shown = (done, total, ppl) -> bar.update(done, total, String.format("ppl %.4f", ppl));
            ChunkedPerplexity.Result r = analysed == null
                    ? ChunkedPerplexity.evaluate(model, tokens, ctx, picked, factory, proto, shown, threads)
                    : ChunkedPerplexity.evaluate(model, tokens, ctx, picked, analysed.factories(model, tokens, ctx, factory),
                            factory.describe() + " [analysis " + analysed.label() + "]", proto, shown, threads);
            bar.finish();
            double[] changes = base == null ? null : r.changesAgainst(base);
            Spread spread = changes == null ? null : Spread.of(changes);
            double seconds = r.seconds();
            double tps = picked.length * (double) (ctx - 1) / seconds;
            if (json) {
                List<Json> perChunk = new ArrayList<>();
                for (int i = 0; i < r.chunks().size(); i++) {
                    ChunkScore c = r.chunks().get(i);
                    Json j = new Json().put("chunk", c.chunk()).put("ppl", c.ppl()).put("kv_ratio", c.ratio())
                            .put("kv_bytes", c.bytes()).put("kept_tokens", c.kept());
                    if (base != null) j.put("baseline_ppl", base.chunks().get(i).ppl()).put("change_pct", changes[i]);
                    if (!c.allocation().isEmpty()) j.put("allocation", c.allocation());
                    perChunk.add(j);
                }
                Json o = new Json()
                        .put("model", model.config().name())
                        .put("text", text.toString())
                        .put("protocol", proto.label())
                        .put("analysis", analysed == null ? "" : analysed.label())
                        .put("chunk_selection", selection.spec())
                        .put("ppl", r.ppl())
                        .put("nll_per_token", r.nllPerToken())
                        .put("nll_std_error", r.nllStdError())
                        .put("n_ctx", ctx)
                        .put("first_chunk", firstChunk)
                        .put("chunks", picked.length)
                        .put("chunk_indices", java.util.Arrays.stream(picked).boxed().toList())
                        .put("scored_tokens", r.scored())
                        .put("total_tokens", tokens.length)
                        .put("seconds", seconds)
                        .put("tokens_per_second", tps)
                        .put("kv_cache", r.cache())
                        .put("kv_bytes", r.meanBytes())
                        .put("kv_fp16_bytes", r.meanFp16Bytes())
                        .put("kv_ratio", r.ratio())
                        .put("kept_tokens", r.meanKept());
                if (base != null) {
                    o.put("baseline_ppl", base.ppl())
                            .put("change_pct", 100 * (r.ppl() / base.ppl() - 1))
                            .put("change_median_pct", spread.median())
                            .put("change_min_pct", spread.min())
                            .put("change_max_pct", spread.max());
                }
                o.put("per_chunk", perChunk);
                out.println(o);
            } else {
                out.printf("model %s, text %s: %d tokens, %d chunks of %d (%s), %d predictions scored, protocol %s%n",
                        model.config().name(), text, tokens.length, picked.length, ctx, selection.spec(), r.scored(), proto.label());
                out.printf("perplexity %.4f (mean NLL %.6f +/- %.6f nats), %.1f s, %.0f tokens/s, KV cache %s: %.0f bytes (%.2fx vs fp16%s)%n",
                        r.ppl(), r.nllPerToken(), r.nllStdError(), seconds, tps, r.cache(), r.meanBytes(), r.ratio(),
                        proto == Protocol.CONTEXT ? ", over the prompt's rows" : "");
                if (base != null) {
                    out.printf("uncompressed %.4f: change %+.2f%% (per chunk: median %+.2f%%, min %+.2f%%, max %+.2f%%)%n",
                            base.ppl(), 100 * (r.ppl() / base.ppl() - 1), spread.median(), spread.min(), spread.max());
                }
            }
        }
        return 0;
    }
}
