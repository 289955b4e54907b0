package dev.nexusquant.cli;

import dev.nexusquant.engine.model.GenerationOptions;
import dev.nexusquant.engine.model.GenerationResult;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code nq generate}: streams generated text to stdout. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt, streaming tokens to stdout as they come.")
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    KvOptions kv;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", defaultValue = "",
            description = "the prompt (default: empty, generation starts from BOS)")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, paramLabel = "T", defaultValue = "0.8",
            description = "sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "nucleus sampling threshold (default: ${DEFAULT-VALUE})")
    float topP;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "sampler seed (default: time-based)")
    Long seed;

    @Option(names = "--json", description = "print one JSON object (text, tokens, timings) instead of streaming")
    boolean json;

    @Option(names = "--warmup", description = {"run the same generation once, untimed and unprinted, before the timed one,",
            "so the reported speeds are those of JIT-compiled code (steady state) rather than of a cold start"})
    boolean warmup;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        GenerationOptions opts = new GenerationOptions(maxTokens, temperature, topP,
                seed != null ? seed : System.nanoTime(), true);
        try (Model model = modelOption.load()) {
            if (warmup) {
                try (Session s = model.newSession(kv.factory(model))) {
                    model.generate(s, prompt, opts, (id, text) -> { });
                }
            }
            try (Session session = model.newSession(kv.factory(model))) {
            GenerationResult r = model.generate(session, prompt, opts, (id, text) -> {
                if (!json && !text.isEmpty()) {
                    out.print(text);
                    out.flush();
                }
            });
            if (json) {
                out.println(new Json()
                        .put("model", model.config().name())
                        .put("prompt", prompt)
                        .put("text", r.text())
                        .put("prompt_tokens", r.promptTokens().length)
                        .put("generated_tokens", r.tokens().length)
                        .put("tokens", Arrays.stream(r.tokens()).boxed().toList())
                        .put("stop_reason", r.stopReason().name().toLowerCase(java.util.Locale.ROOT))
                        .put("prefill_seconds", r.prefillSeconds())
                        .put("prefill_tokens_per_second", r.prefillTokensPerSecond())
                        .put("decode_seconds", r.decodeSeconds())
                        .put("decode_steps", r.decodeSteps())
                        .put("decode_tokens_per_second", r.decodeTokensPerSecond())
                        .put("warmup", warmup)
                        .put("threads", dev.nexusquant.engine.tensor.Parallel.threads())
                        .put("kv_cache", kv.factory(model).describe())
                        .put("kv_bytes", r.kvStats().bytes())
                        .put("kv_fp16_bytes", r.kvStats().fp16Bytes())
                        .put("kv_ratio", r.kvStats().ratio())
                        .put("kept_tokens", r.kvStats().tokensKept()));
            } else {
                out.println();
                out.flush();
                spec.commandLine().getErr().printf("[%d prompt tokens at %.1f tokens/s, %d generated at %.1f tokens/s, stop: %s]%n",
                        r.promptTokens().length, r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                        r.stopReason().name().toLowerCase(java.util.Locale.ROOT));
            }
            }
        }
        return 0;
    }
}
