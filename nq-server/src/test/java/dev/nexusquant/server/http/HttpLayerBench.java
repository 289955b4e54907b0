package dev.nexusquant.server.http;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.CompletionService;
import dev.nexusquant.server.ServerConfig;
import dev.nexusquant.server.conversation.EvictingOffloader;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The measurement behind the HTTP layer's choice: the same {@link OpenAiApi} served by the JDK's HttpServer (virtual
 * threads) and by Helidon SE 4.5, on loopback, interleaved (JDK, Helidon, JDK, Helidon...), with {@code clients}
 * concurrent java.net.http clients for {@code seconds} each, on three loads:
 * <ol>
 *   <li>{@code health}: GET /health (small JSON);</li>
 *   <li>{@code bad-json}: POST /v1/chat/completions with a 2 KB body that parses and fails validation (400): body
 *       reading, JSON, error path;</li>
 *   <li>{@code stream}: POST /v1/completions, stream, 16 tokens of stories260K (SSE, the engine in the loop).</li>
 * </ol>
 * Run: {@code nq-server/run-bench.sh HttpLayerBench ../shared/models/stories260K.gguf 16 4 3} (BENCHMARKS.md, "Serving").
 */
public final class HttpLayerBench {

    public static void main(String[] args) throws Exception {
        Path modelPath = Path.of(args.length > 0 ? args[0] : "../shared/models/stories260K.gguf");
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 5;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        try (Model model = Model.load(modelPath)) {
            ServerConfig cfg = ServerConfig.defaults(model.kvCacheFactory()).withPort(0).withSessions(256, 2, 4096);
            CompletionService service = new CompletionService(model, cfg, new EvictingOffloader());
            OpenAiApi api = new OpenAiApi(service);
            String bad = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(2000) + "\"}],\"max_tokens\":-1}";
            String stream = "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0,\"stream\":true}";
            System.out.printf(Locale.ROOT, "clients %d, %.0f s per run, %d rounds; load %s%n", clients, seconds, rounds,
                    new String(java.nio.file.Files.readAllBytes(Path.of("/proc/loadavg"))).trim());
            for (String load : new String[]{"health", "bad-json", "stream"}) {
                for (int round = 0; round < rounds; round++) {
                    for (String layer : new String[]{"jdk", "helidon"}) {
                        AutoCloseable server;
                        int port;
                        if (layer.equals("jdk")) {
                            JdkHttpTransport t = new JdkHttpTransport("127.0.0.1", 0, api, 4 << 20, 30_000);
                            server = t;
                            port = t.port();
                        } else {
                            HelidonHttpTransport t = new HelidonHttpTransport("127.0.0.1", 0, api, 4 << 20);
                            server = t;
                            port = t.port();
                        }
                        try (server) {
                            String base = "http://127.0.0.1:" + port;
                            HttpRequest req = switch (load) {
                                case "health" -> HttpRequest.newBuilder(URI.create(base + "/health")).GET().build();
                                case "bad-json" -> HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                                        .POST(HttpRequest.BodyPublishers.ofString(bad)).build();
                                default -> HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                                        .POST(HttpRequest.BodyPublishers.ofString(stream)).build();
                            };
                            int c = load.equals("stream") ? Math.min(clients, 4) : clients;
                            run(layer, load, req, c, load.equals("stream") ? seconds * 2 : seconds);
                        }
                    }
                }
            }
            service.close();
        }
    }

    private static void run(String layer, String load, HttpRequest req, int clients, double seconds) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        // warm-up
        for (int i = 0; i < 50; i++) {
            try {
                http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            } catch (java.io.IOException e) {
                // counted in the timed part
            }
        }
        long end = System.nanoTime() + (long) (seconds * 1e9);
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        List<Future<long[]>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            fs.add(ex.submit(() -> {
                long[] lat = new long[1 << 20];
                int n = 0, errors = 0;
                while (System.nanoTime() < end && n < lat.length) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                        if (r.statusCode() >= 500) errors++;
                    } catch (java.io.IOException e) {
                        errors++; // counted, and the run goes on
                    }
                    lat[n++] = System.nanoTime() - t0;
                }
                long[] out = Arrays.copyOf(lat, n + 1);
                out[n] = errors;
                return out;
            }));
        }
        List<Long> all = new ArrayList<>();
        long errors = 0;
        for (Future<long[]> f : fs) {
            long[] l = f.get();
            for (int i = 0; i < l.length - 1; i++) all.add(l[i]);
            errors += l[l.length - 1];
        }
        ex.shutdown();
        http.close();
        all.sort(null);
        double rps = all.size() / seconds;
        System.out.printf(Locale.ROOT, "%-8s %-8s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  (%d requests, %d errors)%n",
                layer, load, rps, all.get(all.size() / 2) / 1e6, all.get((int) (all.size() * 0.99)) / 1e6, all.size(), errors);
    }
}
