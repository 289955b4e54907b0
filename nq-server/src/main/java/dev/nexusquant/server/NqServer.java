package dev.nexusquant.server;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.server.http.JdkHttpTransport;
import dev.nexusquant.server.http.OpenAiApi;

import java.io.IOException;

/**
 * {@code ./nq serve}: an OpenAI-compatible server over one model, whose conversations share one KV memory budget.
 *
 * <pre>{@code
 * try (Model model = Model.load(path);
 *      NqServer server = NqServer.start(model, ServerConfig.defaults(KvCompression.balanced()).withPort(0))) {
 *     System.out.println("http://127.0.0.1:" + server.port() + "/v1");
 * }
 * }</pre>
 */
public final class NqServer implements AutoCloseable {

    private final CompletionService service;
    private final JdkHttpTransport http;

    private NqServer(CompletionService service, JdkHttpTransport http) {
        this.service = service;
        this.http = http;
    }

    public static NqServer start(Model model, ServerConfig cfg) throws IOException {
        return start(model, cfg, new EvictingOffloader());
    }

    public static NqServer start(Model model, ServerConfig cfg, ConversationOffloader offloader) throws IOException {
        return start(model, cfg, offloader, null);
    }

    /**
     * @param prefixes where new conversations look up the start of their prompt in chunks, so that conversations
     *                 sharing a long system prompt prefill it once (null: none)
     */
    public static NqServer start(Model model, ServerConfig cfg, ConversationOffloader offloader,
                                 dev.nexusquant.store.prefix.PrefixStore prefixes) throws IOException {
        long heap = Runtime.getRuntime().maxMemory();
        if (heap != Long.MAX_VALUE && cfg.kvMemory() > heap) {
            throw new IllegalArgumentException("--kv-memory of " + cfg.kvMemory() + " bytes is more than the JVM's heap ("
                    + heap + " bytes); lower it or raise -Xmx");
        }
        CompletionService service = new CompletionService(model, cfg, offloader, prefixes);
        try {
            JdkHttpTransport http = new JdkHttpTransport(cfg.host(), cfg.port(), new OpenAiApi(service),
                    cfg.maxBodyBytes(), cfg.bodyTimeoutMs());
            return new NqServer(service, http);
        } catch (IOException | RuntimeException e) {
            service.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    public String host() {
        return http.host();
    }

    /** {@code http://host:port}. */
    public String baseUrl() {
        String h = host().contains(":") ? "[" + host() + "]" : host();
        return "http://" + h + ":" + port();
    }

    public CompletionService service() {
        return service;
    }

    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        http.close();
        service.close();
    }
}
