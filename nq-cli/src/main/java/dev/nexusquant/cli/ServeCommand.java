package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.server.NqServer;
import dev.nexusquant.server.ServerConfig;
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
        description = {"Serve the model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions,",
                "/v1/models, /health, /metrics); all conversations share one KV memory budget."})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "address to bind (default: ${DEFAULT-VALUE}, loopback only; 0.0.0.0 opens it to the network)")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "port (default: ${DEFAULT-VALUE}; 0: any free port)")
    int port;

    @Option(names = "--kv", paramLabel = "SPEC", defaultValue = "none",
            description = "KV cache of every conversation: none (dense fp32), high, balanced, max, or a spec (default: ${DEFAULT-VALUE})")
    String kv;

    @Option(names = "--kv-memory", paramLabel = "SIZE", defaultValue = "256M",
            description = "bytes all conversations' KV caches may hold together, a hard limit (default: ${DEFAULT-VALUE})")
    String kvMemory;

    @Option(names = "--kv-store", paramLabel = "STORE", defaultValue = "evict",
            description = "where idle conversations go when memory is needed: evict (dropped; their next turn prefills again)")
    String kvStore;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "64",
            description = "conversations held in memory at most (default: ${DEFAULT-VALUE})")
    int maxSessions;

    @Option(names = "--max-concurrent", paramLabel = "N", defaultValue = "2",
            description = "requests generating at once (default: ${DEFAULT-VALUE})")
    int maxConcurrent;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "32",
            description = "requests waiting for a generation slot; more get 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "max_tokens of requests that give none (default: ${DEFAULT-VALUE})")
    int defaultMaxTokens;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        long budget = KvSpec.parseSize(kvMemory);
        if (budget <= 0) throw new IllegalArgumentException("--kv-memory must be positive");
        if (!kvStore.equals("evict")) {
            throw new IllegalArgumentException("--kv-store " + kvStore + ": only 'evict' is available until the store (issue 13) lands");
        }
        try (Model model = modelOption.load()) {
            KvCacheFactory factory = ServerConfig.kvCache(model, kv);
            ServerConfig cfg = new ServerConfig(host, port, factory, budget, maxSessions, maxConcurrent, maxQueue,
                    defaultMaxTokens, 10_000, 4 << 20, 30_000);
            try (NqServer server = NqServer.start(model, cfg)) {
                out.println("nq serve: " + model.config().name() + " on " + server.baseUrl() + "/v1 (KV cache "
                        + factory.describe() + ", " + kvMemory + " for all conversations, chat template: "
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
