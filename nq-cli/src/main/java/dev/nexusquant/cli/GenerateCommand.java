package dev.nexusquant.cli;

import dev.nexusquant.engine.model.GenerationOptions;
import dev.nexusquant.engine.model.GenerationResult;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.PrefillListener;
import dev.nexusquant.engine.model.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;

/** {@code nq generate}: streams generated text to stdout. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt, streaming tokens to stdout as they come.")
public final class GenerateCommand extends ModelCommand {

    /** The largest prompt file read: far more text than any context holds, far less than the heap. */
    static final int MAX_PROMPT_BYTES = 64 << 20;

    /** Prompts at least this long show the prefill's progress on a terminal. */
    static final int PROGRESS_FROM_TOKENS = 512;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt (default: empty, generation starts from BOS).")
    String prompt;

    @Option(names = "--prompt-file", paramLabel = "FILE",
            description = "Read the prompt from a UTF-8 file, or from standard input with '-' (for prompts too long to pass as an argument).")
    String promptFile;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, paramLabel = "T", defaultValue = "0.8",
            description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Nucleus sampling threshold (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Sampler seed (default: time-based).")
    Long seed;

    @Option(names = "--json", description = "Print one JSON object (text, tokens, timings) instead of streaming.")
    boolean json;

    @Option(names = "--warmup", description = {"Run the same generation once, untimed and unprinted, before the timed one.",
            "The reported speeds are then those of JIT-compiled code (steady state) rather than of a cold start."})
    boolean warmup;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        String text = promptText();
        GenerationOptions opts = new GenerationOptions(maxTokens, temperature, topP,
                seed != null ? seed : System.nanoTime(), true);
        try (Model model = modelOption.load()) {
            if (warmup) {
                try (Session s = model.newSession(kv.factory(model))) {
                    model.generate(s, text, opts, (id, piece) -> { });
                }
            }
            int promptTokens = model.tokenizer().encode(text, opts.addBos()).length;
            ProgressBar bar = progress("prefill", promptTokens >= PROGRESS_FROM_TOKENS);
            PrefillListener prefill = promptTokens >= PROGRESS_FROM_TOKENS && Terminal.stderrIsTerminal()
                    ? (done, total) -> {
                        bar.update(done, total, "tokens");
                        if (done == total) bar.finish();
                    }
                    : PrefillListener.NONE;
            try (Session session = model.newSession(kv.factory(model))) {
                GenerationResult r = model.generate(session, text, opts, (id, piece) -> {
                    if (!json && !piece.isEmpty()) {
                        out.print(piece);
                        out.flush();
                    }
                }, prefill);
                if (json) {
                    out.println(new Json()
                            .put("model", model.config().name())
                            .put("prompt", text)
                            .put("text", r.text())
                            .put("prompt_tokens", r.promptTokens().length)
                            .put("generated_tokens", r.tokens().length)
                            .put("tokens", Arrays.stream(r.tokens()).boxed().toList())
                            .put("stop_reason", r.stopReason().name().toLowerCase(Locale.ROOT))
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
                    err().printf("[%d prompt tokens at %.1f tokens/s, %d generated at %.1f tokens/s, stop: %s]%n",
                            r.promptTokens().length, r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                            r.stopReason().name().toLowerCase(Locale.ROOT));
                }
            }
        }
        return 0;
    }

    /** The prompt: --prompt, or the text of --prompt-file (a file, or '-' for standard input), or empty. */
    String promptText() throws IOException {
        if (prompt != null && promptFile != null) {
            throw new IllegalArgumentException("give --prompt or --prompt-file, not both");
        }
        if (promptFile == null) return prompt == null ? "" : prompt;
        byte[] bytes;
        if (promptFile.equals("-")) {
            bytes = readAtMost(System.in, "standard input");
        } else {
            Path p = Path.of(promptFile);
            if (!Files.isRegularFile(p)) throw new NoSuchFileException(promptFile, null, "no such prompt file");
            long size = Files.size(p);
            if (size > MAX_PROMPT_BYTES) {
                throw new IllegalArgumentException("prompt file " + promptFile + " is " + size + " bytes, more than the "
                        + (MAX_PROMPT_BYTES >> 20) + " MiB a prompt may take");
            }
            try (InputStream in = Files.newInputStream(p)) {
                bytes = readAtMost(in, promptFile);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the prompt in " + (promptFile.equals("-") ? "standard input" : promptFile)
                    + " is not valid UTF-8");
        }
    }

    /** The bytes of {@code in}, refusing more than {@link #MAX_PROMPT_BYTES}. */
    static byte[] readAtMost(InputStream in, String what) throws IOException {
        byte[] b = in.readNBytes(MAX_PROMPT_BYTES + 1);
        if (b.length > MAX_PROMPT_BYTES) {
            throw new IllegalArgumentException("the prompt in " + what + " is more than the " + (MAX_PROMPT_BYTES >> 20)
                    + " MiB a prompt may take");
        }
        return b;
    }
}
