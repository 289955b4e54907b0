package dev.nexusquant.server;

import dev.nexusquant.server.chat.Transcripts;
import dev.nexusquant.server.conversation.ConversationPool;
import dev.nexusquant.server.memory.KvMemoryBudget;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server's counters, rendered in the Prometheus text format (version 0.0.4) by {@link #render}.
 */
public final class Metrics {

    public final LongAdder promptTokens = new LongAdder();      // prompt tokens of finished turns
    public final LongAdder prefilledTokens = new LongAdder();   // of which run through the model (not reused)
    public final LongAdder completionTokens = new LongAdder();
    public final LongAdder decodeNanos = new LongAdder();
    public final LongAdder decodeSteps = new LongAdder();
    public final LongAdder firstTokenNanos = new LongAdder();
    public final LongAdder turns = new LongAdder();
    public final LongAdder cancelled = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> responses = new ConcurrentHashMap<>();
    private final long started = System.nanoTime();
    /** Completion tokens and time at the last scrape, for the recent rate. */
    private final AtomicLong lastTokens = new AtomicLong(), lastNanos = new AtomicLong(System.nanoTime());

    public void response(String endpoint, int status) {
        responses.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
    }

    public String render(ConversationPool pool, Transcripts transcripts, int running, int queued) {
        StringBuilder sb = new StringBuilder(4096);
        KvMemoryBudget b = pool.budget();
        gauge(sb, "nq_sessions_live", "conversations whose KV cache is in memory (running and idle)", pool.live());
        gauge(sb, "nq_sessions_running", "conversations running a turn", pool.busy());
        gauge(sb, "nq_sessions_idle", "conversations in memory waiting for their next turn", pool.idle());
        gauge(sb, "nq_requests_running", "generation requests holding a worker", running);
        gauge(sb, "nq_requests_queued", "generation requests waiting for a worker", queued);
        counter(sb, "nq_sessions_created_total", "conversations created", pool.created.get());
        counter(sb, "nq_sessions_offloaded_total", "idle conversations offloaded to make room", pool.offloads.get());
        counter(sb, "nq_prefix_hits_total", "turns that continued a live conversation holding a prefix of the prompt", pool.prefixHits.get());
        counter(sb, "nq_prefix_misses_total", "turns that found no live prefix", pool.prefixMisses.get());
        counter(sb, "nq_prefix_reused_tokens_total", "prompt tokens not run again because a live cache held them", pool.reusedTokens.get());
        counter(sb, "nq_transcript_hits_total", "prompts whose start was encoded as the ids of an earlier turn's text", transcripts.hits());
        gauge(sb, "nq_transcripts", "turn transcripts (text and ids) kept to encode resent histories", transcripts.size());
        counter(sb, "nq_store_hits_total", "offloaded conversations restored from the store", pool.offloader().hits());
        counter(sb, "nq_store_saves_total", "idle conversations saved to the store before their memory was freed", pool.offloader().saves());
        counter(sb, "nq_store_failures_total", "saves and restores that failed (dropped, or prefilled again)", pool.offloader().failures());
        counter(sb, "nq_prefix_store_chunks_restored_total", "prompt chunks of new conversations replayed from the prefix store", pool.prefixChunksRestored.get());
        counter(sb, "nq_prefix_store_tokens_restored_total", "prompt tokens of new conversations not run again thanks to the prefix store", pool.prefixTokensRestored.get());
        counter(sb, "nq_prefix_store_chunks_stored_total", "prompt chunks written to the prefix store", pool.prefixChunksStored.get());
        counter(sb, "nq_rejected_memory_total", "turns refused with 503 for lack of KV memory", pool.rejected.get());
        counter(sb, "nq_prompt_tokens_total", "prompt tokens of finished turns", promptTokens.sum());
        counter(sb, "nq_prefilled_tokens_total", "prompt tokens run through the model", prefilledTokens.sum());
        counter(sb, "nq_completion_tokens_total", "tokens generated", completionTokens.sum());
        counter(sb, "nq_turns_total", "turns finished", turns.sum());
        counter(sb, "nq_turns_cancelled_total", "turns stopped because the client went away", cancelled.sum());
        counter(sb, "nq_decode_seconds_total", "time spent generating tokens one by one, summed over turns", decodeNanos.sum() / 1e9);
        counter(sb, "nq_time_to_first_token_seconds_total", "time to first token, summed over turns (divide by nq_turns_total)", firstTokenNanos.sum() / 1e9);
        long now = System.nanoTime(), tok = completionTokens.sum();
        long t0 = lastNanos.getAndSet(now), k0 = lastTokens.getAndSet(tok);
        gauge(sb, "nq_completion_tokens_per_second", "tokens generated per second since the previous scrape, all conversations together",
                now > t0 ? (tok - k0) / ((now - t0) / 1e9) : 0);
        gauge(sb, "nq_completion_tokens_per_second_average", "tokens generated per second since the start", tok / ((now - started) / 1e9));
        gauge(sb, "nq_kv_bytes_limit", "the KV memory budget (--kv-memory)", b.limit());
        gauge(sb, "nq_kv_bytes_reserved", "bytes reserved by live conversations (held while idle, the bound of a running turn)", b.reserved());
        gauge(sb, "nq_kv_bytes_held", "bytes the live KV caches hold (their stats)", b.held());
        gauge(sb, "nq_kv_bytes_held_max", "the most the live KV caches ever held together", b.peakHeld());
        gauge(sb, "nq_kv_fp16_bytes", "bytes an fp16 cache would hold for the same tokens", b.fp16Bytes());
        gauge(sb, "nq_kv_compression_ratio", "fp16 bytes over bytes held", b.held() == 0 ? 0 : (double) b.fp16Bytes() / b.held());
        counter(sb, "nq_kv_budget_overruns_total", "caches stopped for growing past their reservation (a bound was wrong)", b.overruns());
        sb.append("# HELP nq_http_responses_total responses by endpoint and status\n# TYPE nq_http_responses_total counter\n");
        responses.forEach((k, v) -> {
            int z = k.indexOf('\u0000');
            sb.append("nq_http_responses_total{endpoint=\"").append(k, 0, z).append("\",status=\"")
                    .append(k.substring(z + 1)).append("\"} ").append(v.sum()).append('\n');
        });
        return sb.toString();
    }

    private static void gauge(StringBuilder sb, String name, String help, double v) {
        line(sb, name, help, "gauge", v);
    }

    private static void counter(StringBuilder sb, String name, String help, double v) {
        line(sb, name, help, "counter", v);
    }

    private static void line(StringBuilder sb, String name, String help, String type, double v) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        sb.append(name).append(' ');
        if (v == Math.rint(v) && Math.abs(v) < 1e15) sb.append((long) v);
        else sb.append(String.format(Locale.ROOT, "%.6g", v));
        sb.append('\n');
    }
}
