package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nexusquant.server.api.Json;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Shared by the server tests: the small shared model, a loopback client, /metrics parsing. */
public final class TestServers {

    private TestServers() {
    }

    /** ../shared/models/NAME, or the test is skipped (visibly) when the shared folder is absent. */
    public static Path sharedModel(String name) {
        String shared = System.getProperty("nq.shared", "../../shared");
        Path p = Path.of(shared, "models", name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "skipped: " + p + " is absent (the shared models are needed)");
        return p;
    }

    /** A config for tests: loopback, any free port, short timeouts. */
    public static ServerConfig config(dev.nexusquant.engine.kv.KvCacheFactory kv, long kvMemory) {
        return new ServerConfig("127.0.0.1", 0, kv, kvMemory, 16, 2, 16, 32, 5_000, 1 << 20, 2_000);
    }

    public static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    public record Reply(int status, String body, HttpResponse<String> raw) {
        public JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    public static Reply post(NqServer s, String path, String json) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + path))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    public static Reply get(NqServer s, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    /** The unlabelled samples of /metrics. */
    public static Map<String, Double> metrics(NqServer s) throws IOException, InterruptedException {
        Map<String, Double> m = new HashMap<>();
        for (String line : get(s, "/metrics").body().split("\n")) {
            if (line.startsWith("#") || line.isBlank() || line.contains("{")) continue;
            int sp = line.lastIndexOf(' ');
            m.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
        }
        return m;
    }
}
