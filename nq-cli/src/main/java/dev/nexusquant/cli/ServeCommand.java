package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.server.NqServer;
import dev.nexusquant.server.ServerConfig;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.server.conversation.StoreOffloader;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStores;
import dev.nexusquant.store.prefix.PrefixStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;

/** {@code nq serve}: the OpenAI-compatible HTTP server (nq-server). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over an OpenAI-compatible HTTP API: /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics.",
                "All conversations share one KV memory budget (--kv-memory); compressed caches (--kv balanced) fit many more of them.",
                "A client that resends a conversation's history pays only for the new turn while its cache is in memory or in the store.",
                "Binds to loopback unless --host says otherwise; Ctrl-C stops."})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = {"Address to bind (default: ${DEFAULT-VALUE}, loopback only).", "0.0.0.0 opens the server to the network."})
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080",
            description = {"Port to listen on (default: ${DEFAULT-VALUE}).", "0 takes any free port."})
    int port;

    @Option(names = "--kv", paramLabel = "SPEC", defaultValue = "none",
            description = {"KV cache of every conversation: none (dense fp32), high, balanced, max, or a spec (default: ${DEFAULT-VALUE}).",
                    "See the README's KV specs."})
    String kv;

    @Option(names = "--kv-memory", paramLabel = "SIZE", defaultValue = "256M",
            description = {"Bytes all conversations' KV caches may hold together, a hard limit (default: ${DEFAULT-VALUE}).",
                    "A request that cannot fit gets a 503 with a JSON error."})
    String kvMemory;

    @Option(names = "--kv-store", paramLabel = "STORE", defaultValue = "evict",
            description = {"Where idle conversations go when the budget needs their memory (default: ${DEFAULT-VALUE}).",
                    "evict: they are dropped, and their next turn prefills the history again.",
                    "dir:PATH: their sessions are saved as files in PATH (at most 4 GiB, least recently used deleted first) and restored on their next turn.",
                    "redis://[USER[:PASSWORD]@]HOST:PORT[/DB]: the same in Redis (rediss:// over TLS, a private CA's PEM in NQ_REDIS_CA; a password left out is read from NQ_REDIS_PASSWORD)."})
    String kvStore;

    @Option(names = "--prefix-store",
            description = {"Share the start of new conversations' prompts (a long system prompt) through the --kv-store, in chunks of 256 tokens.",
                    "The first conversation prefills a chunk and stores it; the next ones replay it, with the same results as a prefill.",
                    "Needs --kv-store dir:PATH or redis://HOST:PORT."})
    boolean prefixStore;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "64",
            description = "Conversations held in memory at most, running and idle (default: ${DEFAULT-VALUE}).")
    int maxSessions;

    @Option(names = "--max-concurrent", paramLabel = "N", defaultValue = "2",
            description = "Requests generating at once (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "32",
            description = {"Requests waiting for a generation slot (default: ${DEFAULT-VALUE}).", "More get a 429 with Retry-After."})
    int maxQueue;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "max_tokens of requests that give none (default: ${DEFAULT-VALUE}).")
    int defaultMaxTokens;

    /** Offloaded conversations a store keeps at most (the oldest are deleted). */
    static final int MAX_SAVED = 100_000;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        long budget = KvSpec.parseSize(kvMemory);
        if (budget <= 0) throw new IllegalArgumentException("--kv-memory must be positive");
        if (new java.net.InetSocketAddress(host, 0).isUnresolved()) { // the JDK's own message: "Unresolved address"
            throw new IllegalArgumentException("--host " + host + " is neither an IP address nor a name this machine resolves");
        }
        if (prefixStore && kvStore.strip().equals("evict")) {
            throw new IllegalArgumentException("--prefix-store needs a store: --kv-store dir:PATH or redis://HOST:PORT");
        }
        KvStore store = kvStore.strip().equals("evict") ? null : KvStores.open(kvStore);
        try {
            return serve(out, budget, store);
        } finally {
            if (store != null) store.close(); // the server closed it already, unless it never started
        }
    }

    private int serve(PrintWriter out, long budget, KvStore store) throws Exception {
        try (Model model = modelOption.load()) {
            KvCacheFactory factory = ServerConfig.kvCache(model, kv);
            ServerConfig cfg = new ServerConfig(host, port, factory, budget, maxSessions, maxConcurrent, maxQueue,
                    defaultMaxTokens, 10_000, 4 << 20, 30_000);
            ConversationOffloader offloader = store == null ? new EvictingOffloader() : new StoreOffloader(model, store, MAX_SAVED);
            PrefixStore prefixes = prefixStore ? new PrefixStore(model, store) : null;
            try (NqServer server = NqServer.start(model, cfg, offloader, prefixes)) {
                out.println("nq serve: " + model.config().name() + " on " + server.baseUrl() + "/v1 (KV cache "
                        + factory.describe() + ", " + kvMemory + " for all conversations, offloading: " + offloader.describe()
                        + (prefixes != null ? ", prompt prefixes shared through the store" : "")
                        + ", chat template: "
                        + server.service().template().describe() + "); Ctrl-C stops");
                out.flush();
                CountDownLatch stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    server.close();
                    stop.countDown();
                }));
                stop.await();
            }
        }
        return 0;
    }
}
