package dev.nexusquant.cli;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

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

    @Option(names = "--max-chunks", paramLabel = "K", defaultValue = "0", description = "evaluate at most K chunks (default: all)")
    int maxChunks;

    @Option(names = "--first-chunk", paramLabel = "C", defaultValue = "0",
            description = "start at chunk C (0-based), e.g. to report on chunks not used to choose settings")
    int firstChunk;

    @Option(names = "--json", description = "print one JSON object, no progress bar")
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
        if (!Files.isRegularFile(text)) throw new NoSuchFileException(text.toString(), null, "no such text file");
        try (Model model = modelOption.load()) {
            if (ctx > model.config().contextLength()) {
                throw new IllegalArgumentException("--ctx " + ctx + " exceeds the model's context length " + model.config().contextLength());
            }
            int[] tokens = Perplexity.tokenizeFile(model, text);
            KvCacheFactory factory = kv.factory(model);
            ProgressBar bar = progress("perplexity", !json);
            PerplexityResult r = Perplexity.evaluate(model, tokens, ctx, firstChunk, maxChunks, factory,
                    (done, total, ppl) -> bar.update(done, total, String.format("ppl %.4f", ppl)),
                    chunkThreads != null ? chunkThreads : Perplexity.autoChunkThreads(model));
            bar.finish();
            if (json) {
                out.println(new Json()
                        .put("model", model.config().name())
                        .put("text", text.toString())
                        .put("ppl", r.ppl())
                        .put("nll_per_token", r.nllPerToken())
                        .put("nll_std_error", r.nllStdError())
                        .put("n_ctx", r.nCtx())
                        .put("first_chunk", firstChunk)
                        .put("chunks", r.chunks())
                        .put("scored_tokens", r.scoredTokens())
                        .put("total_tokens", r.totalTokens())
                        .put("seconds", r.seconds())
                        .put("tokens_per_second", r.tokensPerSecond())
                        .put("kv_cache", r.cache())
                        .put("kv_bytes", r.kvBytes())
                        .put("kv_fp16_bytes", r.kvFp16Bytes())
                        .put("kv_ratio", r.kvRatio())
                        .put("kept_tokens", r.keptTokens()));
            } else {
                out.printf("model %s, text %s: %d tokens, %d chunks of %d, %d predictions scored%n",
                        model.config().name(), text, r.totalTokens(), r.chunks(), r.nCtx(), r.scoredTokens());
                out.printf("perplexity %.4f (mean NLL %.6f +/- %.6f nats), %.1f s, %.0f tokens/s, KV cache %s: %.0f bytes (%.2fx vs fp16)%n",
                        r.ppl(), r.nllPerToken(), r.nllStdError(), r.seconds(), r.tokensPerSecond(), r.cache(), r.kvBytes(), r.kvRatio());
            }
        }
        return 0;
    }
}
