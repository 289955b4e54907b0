package dev.nexusquant.server;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.api.CompletionRequest;
import dev.nexusquant.server.chat.ChatTemplate;
import dev.nexusquant.server.chat.ChatTemplates;
import dev.nexusquant.server.chat.PromptTokenizer;
import dev.nexusquant.server.chat.Transcripts;
import dev.nexusquant.server.conversation.Conversation;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.ConversationPool;
import dev.nexusquant.server.generation.Generator;
import dev.nexusquant.server.generation.Sampling;
import dev.nexusquant.server.generation.TurnResult;
import dev.nexusquant.server.memory.KvBudgetExceededException;
import dev.nexusquant.kv.KvMemoryExceededException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The server without HTTP: turns a validated request into prompt tokens ({@link #prepare}), and runs its turn on a
 * worker thread ({@link #submit}) with a conversation from the {@link ConversationPool}.
 *
 * <p>Generation runs on {@code maxConcurrent} platform threads (the forward pass is CPU-bound and spreads itself over
 * the cores), never on the HTTP layer's virtual threads, so that /health and /metrics stay responsive. Up to
 * {@code maxQueue} requests wait for a worker; more get a 429 with Retry-After.
 */
public final class CompletionService implements AutoCloseable {

    private final Model model;
    private final ServerConfig cfg;
    private final ChatTemplate template;
    private final PromptTokenizer tokenizer;
    private final Transcripts transcripts;
    private final ConversationPool pool;
    private final Metrics metrics = new Metrics();
    private final ThreadPoolExecutor workers;
    private final AtomicInteger running = new AtomicInteger();
    private final String modelId;

    /**
     * A request ready to run: its prompt text and tokens (of which {@code reused} came from the transcript of an
     * earlier turn), and sampling.
     */
    public record Prepared(CompletionRequest request, String text, boolean special, int[] prompt, int reused,
                           Sampling sampling) {
    }

    /** Transcripts kept at most: a few per conversation slot, within 32 MiB of heap. */
    static final int TRANSCRIPTS_PER_SESSION = 8;
    static final long TRANSCRIPT_BYTES = 32L << 20;

    public CompletionService(Model model, ServerConfig cfg, ConversationOffloader offloader) {
        this(model, cfg, offloader, null);
    }

    /** @param prefixes the prefix store new conversations look their prompt's start up in, or null */
    public CompletionService(Model model, ServerConfig cfg, ConversationOffloader offloader,
                             dev.nexusquant.store.prefix.PrefixStore prefixes) {
        this.model = model;
        this.cfg = cfg;
        this.template = ChatTemplates.forModel(model);
        this.tokenizer = new PromptTokenizer(model.tokenizer());
        this.transcripts = new Transcripts(tokenizer, Math.max(256, TRANSCRIPTS_PER_SESSION * cfg.maxSessions()), TRANSCRIPT_BYTES);
        this.pool = new ConversationPool(model, cfg.kv(), cfg.kvMemory(), cfg.maxSessions(), offloader, cfg.admissionWaitMs(),
                prefixes);
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(cfg.maxConcurrent(), cfg.maxConcurrent(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(1, cfg.maxQueue())), r -> {
                    Thread t = new Thread(r, "nq-generate-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        String name = model.config().name();
        this.modelId = name == null || name.isBlank() ? model.gguf().path().getFileName().toString() : name;
    }

    public String modelId() {
        return modelId;
    }

    public Model model() {
        return model;
    }

    public ChatTemplate template() {
        return template;
    }

    public ConversationPool pool() {
        return pool;
    }

    public Metrics metrics() {
        return metrics;
    }

    public ServerConfig config() {
        return cfg;
    }

    public Transcripts transcripts() {
        return transcripts;
    }

    public String renderMetrics() {
        return metrics.render(pool, transcripts, running.get(), workers.getQueue().size());
    }

    /** Tokenizes and checks a request against the context; 400 errors name what is wrong. */
    public Prepared prepare(CompletionRequest r) {
        String text;
        boolean special;
        List<String> stop = new ArrayList<>(r.stop());
        if (r.chat()) {
            text = template.render(r.messages());
            special = template.parsesSpecialTokens();
            for (String s : template.stopSequences()) if (!stop.contains(s)) stop.add(s);
        } else {
            text = r.prompt();
            special = false;
        }
        int ctx = model.config().contextLength();
        long least = model.tokenizer().minTokens(text);
        if (least >= ctx) { // refused before encoding: a 4 MB body took 20-37 s of encoding, and some clients a reset
            throw new ApiException(400, "invalid_request_error", "context_length_exceeded", r.chat() ? "messages" : "prompt",
                    "This model's maximum context length is " + ctx + " tokens, and the prompt is at least " + least
                            + " tokens (" + text.length() + " characters); at least one token must be left to generate", 0);
        }
        Transcripts.Encoded encoded;
        try {
            encoded = transcripts.encode(text, special);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(r.chat() ? "messages" : "prompt", "the text cannot be tokenized: " + e.getMessage());
        }
        int[] prompt = encoded.tokens();
        if (prompt.length >= ctx) {
            throw new ApiException(400, "invalid_request_error", "context_length_exceeded", r.chat() ? "messages" : "prompt",
                    "This model's maximum context length is " + ctx + " tokens, and the prompt is " + prompt.length
                            + " tokens; at least one token must be left to generate", 0);
        }
        int maxTokens;
        if (r.maxTokens() != null) {
            maxTokens = r.maxTokens();
            if ((long) prompt.length + maxTokens > ctx) {
                throw new ApiException(400, "invalid_request_error", "context_length_exceeded", "max_tokens",
                        "This model's maximum context length is " + ctx + " tokens. However, you requested "
                                + (prompt.length + (long) maxTokens) + " tokens (" + prompt.length + " in the prompt, "
                                + maxTokens + " in the completion)", 0);
            }
        } else {
            maxTokens = Math.min(cfg.defaultMaxTokens(), ctx - prompt.length);
        }
        long seed = r.seed() != null ? r.seed() : ThreadLocalRandom.current().nextLong();
        return new Prepared(r, text, special, prompt, encoded.reused(),
                new Sampling(maxTokens, r.temperature(), r.topP(), seed, stop));
    }

    /**
     * Queues a turn. On the worker: gets its conversation (503 when memory cannot be had), calls {@code onStart},
     * generates into {@code sink}, returns the conversation to the pool (or frees it when cancelled or failed).
     *
     * @throws ApiException 429 when the queue is full
     */
    public Future<TurnResult> submit(Prepared p, Runnable onStart, Generator.TextSink sink, BooleanSupplier cancelled) {
        try {
            return workers.submit(() -> runTurn(p, onStart, sink, cancelled));
        } catch (RejectedExecutionException e) {
            throw new ApiException(429, "rate_limit_exceeded", "too_many_requests", null,
                    "too many concurrent requests: " + cfg.maxConcurrent() + " running and " + cfg.maxQueue()
                            + " waiting; retry later", 1);
        }
    }

    /** Runs a turn on the calling thread (the in-process LangChain4j models use this path too). */
    public TurnResult runTurn(Prepared p, Runnable onStart, Generator.TextSink sink, BooleanSupplier cancelled)
            throws InterruptedException {
        if (cancelled.getAsBoolean()) return TurnResult.cancelled();
        running.incrementAndGet();
        try {
            Conversation c = pool.acquire(p.prompt(), p.sampling().maxTokens());
            boolean keep = false;
            try {
                onStart.run();
                boolean strip = model.tokenizer().stripsLeadingSpace() && (p.request().chat() || p.text().isEmpty());
                TurnResult r = Generator.run(c.session(), c, p.prompt(), p.sampling(), strip, sink, cancelled)
                        .withPoolPrefill(c.poolPrefilled(), c.poolPrefillNanos());
                keep = r.finish() != TurnResult.Finish.CANCELLED;
                if (keep) {
                    record(p, r.tokensText(), r.tokens());
                    if (r.allTokens().length > r.tokens().length) record(p, r.allText(), r.allTokens());
                }
                account(p, r);
                return r;
            } catch (KvBudgetExceededException | KvMemoryExceededException e) {
                throw new ApiException(503, "server_error", "kv_memory", null, e.getMessage(), 2);
            } finally {
                pool.release(c, keep);
            }
        } finally {
            running.decrementAndGet();
        }
    }

    /** Records a turn's text with its ids; for a chat, also as the template will spell the answer when it is resent. */
    private void record(Prepared p, String generatedText, int[] generated) {
        int[] ids = concat(p.prompt(), generated);
        transcripts.record(p.text() + generatedText, ids, p.special());
        if (p.request().chat()) {
            String resent = template.resentAnswer(generatedText);
            if (!resent.equals(generatedText)) transcripts.record(p.text() + resent, ids, p.special());
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private void account(Prepared p, TurnResult r) {
        metrics.turns.increment();
        metrics.promptTokens.add(p.prompt().length);
        metrics.prefilledTokens.add(r.prefilled());
        metrics.completionTokens.add(r.completionTokens());
        metrics.decodeNanos.add(r.decodeNanos());
        metrics.decodeSteps.add(r.decodeSteps());
        metrics.firstTokenNanos.add(r.firstTokenNanos());
        if (r.finish() == TurnResult.Finish.CANCELLED) metrics.cancelled.increment();
    }

    public int running() {
        return running.get();
    }

    @Override
    public void close() {
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close();
    }
}
