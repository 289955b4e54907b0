package dev.nexusquant.cli;

import dev.nexusquant.engine.model.GenerationOptions;
import dev.nexusquant.engine.model.GenerationResult;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.PrefillListener;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.model.TokenListener;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStores;
import dev.nexusquant.store.prefix.PrefixStats;
import dev.nexusquant.store.prefix.PrefixStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

    @Option(names = "--prompt-cache", paramLabel = "FILE",
            description = {"Keep the prompt's KV cache in FILE: when FILE holds a saved session of this model and --kv whose"
                    + " tokens are a prefix of the prompt, restore it and prefill only the rest; otherwise prefill and save it"
                    + " (a longer prompt rewrites it).",
                    "A damaged or foreign FILE is reported on stderr and overwritten after a full prefill; a FILE that is not a"
                            + " saved session is never overwritten (error)."})
    Path promptCache;

    @Option(names = "--kv-store", paramLabel = "STORE",
            description = {"Share prompt prefixes through a store: dir:PATH (a local directory, LRU-capped at 4 GiB) or"
                    + " redis://[USER[:PASSWORD]@]HOST:PORT[/DB] (rediss:// over TLS, a private CA's PEM in NQ_REDIS_CA; a password left out is read from NQ_REDIS_PASSWORD). The longest run of stored 256-token chunks of the prompt is restored, the rest"
                    + " prefilled, the new chunks stored; results are those of a plain prefill.",
                    "A store that fails is reported on stderr and the prompt is prefilled."})
    String kvStore;

    @Option(names = "--kv-store-max", paramLabel = "SIZE", defaultValue = "4G",
            description = "Size cap of a dir: store, least recently used entries evicted beyond it (default: ${DEFAULT-VALUE}; K, M, G suffixes).")
    String kvStoreMax;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        String text = promptText();
        GenerationOptions opts = new GenerationOptions(maxTokens, temperature, topP,
                seed != null ? seed : System.nanoTime(), true);
        long l0 = System.nanoTime();
        try (Model model = modelOption.load()) {
            double loadSeconds = (System.nanoTime() - l0) / 1e9;
            if (warmup) {
                try (Session s = model.newSession(kv.factory(model))) {
                    model.generate(s, text, opts, (id, piece) -> { });
                }
            }
            if (kvStore != null && promptCache != null) throw new IllegalArgumentException("give --kv-store or --prompt-cache, not both");
            if (kvStore != null) return generateThroughStore(model, text, opts, out);
            if (promptCache != null) return generateCached(model, text, opts, out);
            int promptTokens = model.encodePrompt(text, opts.addBos()).length; // checked: refused before encoding when far too long
            ProgressBar bar = progress("prefill", promptTokens >= PROGRESS_FROM_TOKENS);
            PrefillListener prefill = promptTokens >= PROGRESS_FROM_TOKENS && Terminal.stderrIsTerminal()
                    ? (done, total) -> {
                        bar.update(done, total, "tokens");
                        if (done == total) bar.finish();
                    }
                    : PrefillListener.NONE;
            long t0 = System.nanoTime();
            try (Session session = model.newSession(kv.factory(model))) {
                Echo echo = new Echo(out);
                GenerationResult r = model.generate(session, text, opts, echo, prefill);
                if (json) {
                    out.println(resultJson(model, text, r.promptTokens().length, r)
                            .put("prefill_seconds", r.prefillSeconds())
                            .put("prefill_tokens_per_second", r.prefillTokensPerSecond())
                            .put("time_to_first_token_seconds", (echo.firstTokenNanos() - t0) / 1e9)
                            .put("process_time_to_first_token_seconds", ProcessClock.secondsSinceStart(echo.firstTokenMillis()))
                            .put("process_cpu_seconds_at_first_token", echo.firstTokenCpuSeconds())
                            .putAll(decodeJson(r))
                            .put("warmup", warmup)
                            .put("model_load_seconds", loadSeconds)
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

    /**
     * Generation through the prompt cache: restore (or not) the session, prefill what the file did not hold, keep the
     * session's saved form, generate, then write the file. The time to first token runs from before the file is read
     * to the first token, less the time spent serializing the cache for the file (reported on its own).
     */
    private int generateCached(Model model, String text, GenerationOptions opts, PrintWriter out) throws IOException {
        int[] prompt = model.encodePrompt(text, opts.addBos());
        var factory = kv.factory(model);
        long t0 = System.nanoTime();
        PromptCache.Opened opened = PromptCache.open(model, factory, promptCache, prompt, err());
        try (Session session = opened.session()) {
            int from = session.position();
            int rest = prompt.length - from;
            boolean showBar = rest >= PROGRESS_FROM_TOKENS && !json;
            ProgressBar bar = progress("prefill", showBar);
            long p0 = System.nanoTime();
            session.expectPrompt(prompt.length);
            for (int done = 0; done < rest; ) {
                int n = Math.min(Session.MAX_BATCH, rest - done);
                session.forward(prompt, from + done, n, false);
                done += n;
                if (showBar) bar.update(done, rest, "tokens");
            }
            if (showBar) bar.finish();
            if (rest > 0) session.endOfPrompt();
            double prefillSeconds = (System.nanoTime() - p0) / 1e9;
            long s0 = System.nanoTime();
            byte[] saved = opened.outcome() == PromptCache.Outcome.HIT ? null : session.toBytes();
            long serialize = System.nanoTime() - s0;
            KvStats atSave = session.kvCache().stats();
            Echo echo = new Echo(out);
            GenerationResult r = model.continueFrom(session, opts, echo);
            double ttft = (echo.firstTokenNanos() - t0 - serialize) / 1e9;
            long w0 = System.nanoTime();
            if (saved != null) PromptCache.write(promptCache, saved);
            double saveSeconds = (serialize + System.nanoTime() - w0) / 1e9;
            long onDisk = saved != null ? saved.length : Files.size(promptCache);
            String outcome = opened.outcome().name().toLowerCase(Locale.ROOT);
            if (json) {
                out.println(resultJson(model, text, prompt.length, r)
                        .put("prompt_cache", promptCache.toString())
                        .put("prompt_cache_outcome", outcome)
                        .put("restored_tokens", opened.restoredTokens())
                        .put("restore_seconds", opened.restoreSeconds())
                        .put("prefilled_tokens", rest)
                        .put("prefill_seconds", prefillSeconds)
                        .put("save_seconds", saveSeconds)
                        .put("time_to_first_token_seconds", ttft)
                        .putAll(decodeJson(r))
                        .put("threads", dev.nexusquant.engine.tensor.Parallel.threads())
                        .put("kv_cache", factory.describe())
                        .put("cache_bytes_on_disk", onDisk)
                        .put("cache_kv_bytes_in_memory", atSave.bytes())
                        .put("cache_kv_fp16_bytes", atSave.fp16Bytes())
                        .put("kv_bytes", r.kvStats().bytes())
                        .put("kv_fp16_bytes", r.kvStats().fp16Bytes())
                        .put("kv_ratio", r.kvStats().ratio()));
            } else {
                out.println();
                out.flush();
                err().printf(Locale.ROOT, "[prompt cache %s: %s, %d of %d prompt tokens restored in %.3f s, %d prefilled in %.3f s;"
                                + " time to first token %.3f s]%n", promptCache, outcome, opened.restoredTokens(), prompt.length,
                        opened.restoreSeconds(), rest, prefillSeconds, ttft);
                err().printf(Locale.ROOT, "[prompt cache %s: %,d bytes on disk, KV cache %,d bytes in memory (%.2fx the file),"
                                + " %,d as fp16 (%.1fx the file)%s]%n", promptCache, onDisk, atSave.bytes(),
                        (double) atSave.bytes() / onDisk, atSave.fp16Bytes(), (double) atSave.fp16Bytes() / onDisk,
                        saved != null ? String.format(Locale.ROOT, "; written in %.3f s", saveSeconds) : "");
                printGenerated(r);
            }
        }
        return 0;
    }

    /**
     * Generation through a prefix store: restore the stored chunks of the prompt, prefill the rest, store the new
     * chunks, generate. The time to first token runs from before the store is opened to the first token, less the
     * time spent writing new chunks (reported on its own).
     */
    private int generateThroughStore(Model model, String text, GenerationOptions opts, PrintWriter out) throws IOException {
        int[] prompt = model.encodePrompt(text, opts.addBos());
        var factory = kv.factory(model);
        long t0 = System.nanoTime();
        long cap = dev.nexusquant.kv.KvSpec.parseSize(kvStoreMax);
        if (cap <= 0) throw new IllegalArgumentException("--kv-store-max must be positive: " + kvStoreMax);
        try (KvStore store = KvStores.open(kvStore, cap)) {
            PrefixStore.Prefilled p = new PrefixStore(model, store).prefill(factory, prompt);
            PrefixStats st = p.stats();
            for (String problem : st.problems()) err().println("[kv-store " + store.describe() + ": " + problem + "]");
            try (Session session = p.session()) {
                session.endOfPrompt();
                Echo echo = new Echo(out);
                GenerationResult r = model.continueFrom(session, opts, echo);
                double ttft = (echo.firstTokenNanos() - t0) / 1e9 - st.storeSeconds();
                if (json) {
                    out.println(resultJson(model, text, prompt.length, r)
                            .put("kv_store", store.describe())
                            .put("store_chunks", st.chunks())
                            .put("store_hits", st.hits())
                            .put("store_misses", st.misses())
                            .put("store_chunks_written", st.stored())
                            .put("store_bytes_read", st.bytesRead())
                            .put("store_bytes_written", st.bytesWritten())
                            .put("store_problems", st.problems())
                            .put("restored_tokens", st.restoredTokens())
                            .put("restore_seconds", st.lookupSeconds())
                            .put("prefilled_tokens", st.prefilledTokens())
                            .put("prefill_seconds", st.prefillSeconds())
                            .put("store_seconds", st.storeSeconds())
                            .put("time_to_first_token_seconds", ttft)
                            .putAll(decodeJson(r))
                            .put("threads", dev.nexusquant.engine.tensor.Parallel.threads())
                            .put("kv_cache", factory.describe())
                            .put("kv_bytes", r.kvStats().bytes())
                            .put("kv_fp16_bytes", r.kvStats().fp16Bytes())
                            .put("kv_ratio", r.kvStats().ratio()));
                } else {
                    out.println();
                    out.flush();
                    err().printf(Locale.ROOT, "[kv-store %s: %d hits, %d misses of %d chunks; %d of %d prompt tokens restored"
                                    + " in %.3f s (%,d bytes), %d prefilled in %.3f s; time to first token %.3f s;"
                                    + " %d new chunks stored in %.3f s (%,d bytes)]%n", store.describe(), st.hits(), st.misses(),
                            st.chunks(), st.restoredTokens(), prompt.length, st.lookupSeconds(), st.bytesRead(),
                            st.prefilledTokens(), st.prefillSeconds(), ttft, st.stored(), st.storeSeconds(), st.bytesWritten());
                    printGenerated(r);
                }
            }
        }
        return 0;
    }

    /** Prints each piece as it comes (not with --json) and notes when the first token arrived. */
    private final class Echo implements TokenListener {
        private final PrintWriter out;
        private long first;
        private long firstMillis;
        private double firstCpu = Double.NaN;

        Echo(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void onToken(int id, String piece) {
            if (first == 0) {
                first = System.nanoTime();
                firstMillis = System.currentTimeMillis();
                firstCpu = ProcessClock.cpuSeconds();
            }
            if (!json && !piece.isEmpty()) {
                out.print(piece);
                out.flush();
            }
        }

        /** The wall clock (ms since the epoch) when the first token arrived, or now when none did. */
        long firstTokenMillis() {
            return firstMillis == 0 ? System.currentTimeMillis() : firstMillis;
        }

        /** CPU seconds of the whole process (every thread: JIT compilers, GC) when the first token arrived, or NaN. */
        double firstTokenCpuSeconds() {
            return firstCpu;
        }

        /** When the first token arrived, or now when none did. */
        long firstTokenNanos() {
            return first == 0 ? System.nanoTime() : first;
        }
    }

    /**
     * The fields every --json result starts with; {@code kv_note} when the cache does something other than its settings
     * say (a session restored from a cache that ran {@code basis=auto} without a model: the Hadamard rotation).
     */
    private static Json resultJson(Model model, String text, int promptTokens, GenerationResult r) {
        Json j = new Json();
        if (!r.kvStats().note().isEmpty()) j.put("kv_note", r.kvStats().note());
        return j
                .put("model", model.config().name())
                .put("prompt", text)
                .put("text", r.text())
                .put("prompt_tokens", promptTokens)
                .put("generated_tokens", r.tokens().length)
                .put("tokens", Arrays.stream(r.tokens()).boxed().toList())
                .put("stop_reason", r.stopReason().name().toLowerCase(Locale.ROOT));
    }

    /** The decode fields of a --json result. */
    private static Json decodeJson(GenerationResult r) {
        return new Json()
                .put("decode_seconds", r.decodeSeconds())
                .put("decode_steps", r.decodeSteps())
                .put("decode_tokens_per_second", r.decodeTokensPerSecond());
    }

    private void printGenerated(GenerationResult r) {
        err().printf(Locale.ROOT, "[%d generated at %.1f tokens/s, stop: %s]%n", r.tokens().length,
                r.decodeTokensPerSecond(), r.stopReason().name().toLowerCase(Locale.ROOT));
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
            Path p = InputFile.regular(Path.of(promptFile), "prompt file");
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
