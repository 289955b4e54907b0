package dev.nexusquant.server;

import dev.nexusquant.engine.kv.KvCacheFactory;

/**
 * Settings of {@link NqServer}.
 *
 * @param host             address to bind (loopback unless told otherwise)
 * @param port             port (0: any free port)
 * @param kv               the KV cache of every conversation
 * @param kvMemory         bytes all live KV caches may hold together
 * @param maxSessions      conversations held in memory at most
 * @param maxConcurrent    turns generating at once (worker threads)
 * @param maxQueue         generation requests waiting for a worker at most; more get 429
 * @param defaultMaxTokens max_tokens of a request that gives none (capped by the context)
 * @param admissionWaitMs  how long a turn waits for KV memory held by running turns before a 503
 * @param maxBodyBytes     largest request body (413 above)
 * @param bodyTimeoutMs    a request body must arrive within this time (408 after; a client that sends nothing is
 *                         disconnected by the HTTP server after the same time)
 */
public record ServerConfig(String host, int port, KvCacheFactory kv, long kvMemory, int maxSessions, int maxConcurrent,
                           int maxQueue, int defaultMaxTokens, long admissionWaitMs, int maxBodyBytes, int bodyTimeoutMs) {

    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, is " + port);
        if (kvMemory <= 0) throw new IllegalArgumentException("--kv-memory must be positive");
        if (maxConcurrent < 1 || maxConcurrent > 1024) throw new IllegalArgumentException("--max-concurrent must be in 1..1024");
        if (maxSessions < maxConcurrent) {
            throw new IllegalArgumentException("--max-sessions (" + maxSessions + ") must be at least --max-concurrent (" + maxConcurrent + ")");
        }
        if (maxQueue < 0 || maxQueue > 1 << 16) throw new IllegalArgumentException("--max-queue must be in 0..65536");
        if (defaultMaxTokens < 1) throw new IllegalArgumentException("default max tokens must be positive");
        if (admissionWaitMs < 0) throw new IllegalArgumentException("admission wait must not be negative");
        if (maxBodyBytes < 1024 || maxBodyBytes > Json_MAX) throw new IllegalArgumentException("max body must be in 1 KiB..8 MiB");
        if (bodyTimeoutMs < 100) throw new IllegalArgumentException("body timeout must be at least 100 ms");
    }

    /**
     * The KV cache a {@code --kv} spec names for {@code model}: {@code none} (or empty) is the model's own dense cache,
     * anything else a {@link dev.nexusquant.kv.KvSpec} (a preset such as {@code balanced}, or a full spec), bound to
     * the model ({@code basis=auto} finds or fits the model's own KLT bases here).
     *
     * @throws IllegalArgumentException naming what is wrong with the spec
     */
    public static KvCacheFactory kvCache(dev.nexusquant.engine.model.Model model, String spec) {
        if (spec == null || spec.isBlank() || spec.strip().equalsIgnoreCase("none")) return model.kvCacheFactory();
        return dev.nexusquant.kv.KvSpec.parse(spec.strip()).forModel(model); // basis=auto: fitted now, before serving
    }

    private static final int Json_MAX = (int) dev.nexusquant.server.api.Json.MAX_DOCUMENT;

    /** Defaults: loopback, port 8080, 256 MiB of KV memory, 64 conversations, 2 running, 32 queued, 256 tokens. */
    public static ServerConfig defaults(KvCacheFactory kv) {
        return new ServerConfig("127.0.0.1", 8080, kv, 256L << 20, 64, 2, 32, 256, 10_000, 4 << 20, 30_000);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, kv, kvMemory, maxSessions, maxConcurrent, maxQueue, defaultMaxTokens, admissionWaitMs, maxBodyBytes, bodyTimeoutMs);
    }

    public ServerConfig withKvMemory(long bytes) {
        return new ServerConfig(host, port, kv, bytes, maxSessions, maxConcurrent, maxQueue, defaultMaxTokens, admissionWaitMs, maxBodyBytes, bodyTimeoutMs);
    }

    public ServerConfig withSessions(int sessions, int concurrent, int queue) {
        return new ServerConfig(host, port, kv, kvMemory, sessions, concurrent, queue, defaultMaxTokens, admissionWaitMs, maxBodyBytes, bodyTimeoutMs);
    }

    public ServerConfig withTimeouts(long admissionWait, int bodyTimeout) {
        return new ServerConfig(host, port, kv, kvMemory, maxSessions, maxConcurrent, maxQueue, defaultMaxTokens, admissionWait, maxBodyBytes, bodyTimeout);
    }

    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, kv, kvMemory, maxSessions, maxConcurrent, maxQueue, defaultMaxTokens, admissionWaitMs, maxBodyBytes, bodyTimeoutMs);
    }

    public ServerConfig withDefaultMaxTokens(int n) {
        return new ServerConfig(host, port, kv, kvMemory, maxSessions, maxConcurrent, maxQueue, n, admissionWaitMs, maxBodyBytes, bodyTimeoutMs);
    }
}
