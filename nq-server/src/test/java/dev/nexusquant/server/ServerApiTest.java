package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nexusquant.engine.model.GenerationOptions;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.api.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.nexusquant.server.TestServers.get;
import static dev.nexusquant.server.TestServers.metrics;
import static dev.nexusquant.server.TestServers.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API end to end on loopback, on stories260K (dense cache). */
class ServerApiTest {

    static Model model;
    static NqServer server;

    @BeforeAll
    static void start() throws Exception {
        model = Model.load(TestServers.sharedModel("stories260K.gguf"));
        server = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    @Test
    void completionEqualsTheEnginesOwnGreedyText() throws Exception {
        var r = post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0}");
        assertEquals(200, r.status(), r.body());
        // the engine's own greedy tokens; a completion goes on from its prompt, so its text keeps the leading space
        var g = model.generate("Once upon a time", GenerationOptions.greedy(24), (id, t) -> { });
        int[] all = java.util.Arrays.copyOf(g.promptTokens(), g.promptTokens().length + g.tokens().length);
        System.arraycopy(g.tokens(), 0, all, g.promptTokens().length, g.tokens().length);
        String expected = model.tokenizer().decode(all).substring("Once upon a time".length());
        assertEquals(g.text(), expected.stripLeading());
        JsonNode j = r.json();
        assertEquals(expected, j.at("/choices/0/text").asText());
        assertEquals("text_completion", j.get("object").asText());
        assertEquals(24, j.at("/usage/completion_tokens").asInt());
        assertEquals("length", j.at("/choices/0/finish_reason").asText());
    }

    @Test
    void modelsHealthMetrics() throws Exception {
        assertEquals(200, get(server, "/health").status());
        var m = get(server, "/v1/models");
        assertEquals(server.service().modelId(), m.json().at("/data/0/id").asText());
        var metrics = get(server, "/metrics");
        assertTrue(metrics.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        Map<String, Double> mm = metrics(server);
        for (String k : List.of("nq_sessions_live", "nq_kv_bytes_held", "nq_kv_bytes_limit", "nq_kv_compression_ratio",
                "nq_prompt_tokens_total", "nq_completion_tokens_total", "nq_completion_tokens_per_second", "nq_store_hits_total")) {
            assertNotNull(mm.get(k), k);
        }
    }

    @Test
    void errorsHaveTheirStatusAndAnOpenAiBody() throws Exception {
        int ctx = model.config().contextLength();
        String longPrompt = "Once upon a time ".repeat(ctx);
        Object[][] cases = {
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":" + (ctx + 1) + "}", 400, "context_length_exceeded"},
                {"/v1/completions", "{\"prompt\":" + Json.MAPPER.writeValueAsString(longPrompt) + "}", 400, "context_length_exceeded"},
                {"/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":-5}", 400, "invalid_value"},
                {"/v1/completions", "{\"prompt\":\"x\",\"temperature\":\"hot\"}", 400, "invalid_type"},
                {"/v1/nothing", "{}", 404, "not_found"},
                // before: answered 200 by the served model whatever the name
                {"/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\",\"max_tokens\":2}", 404, "model_not_found"},
                {"/v1/chat/completions", "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 404, "model_not_found"},
        };
        for (Object[] c : cases) {
            var r = post(server, (String) c[0], (String) c[1]);
            assertEquals(c[2], r.status(), r.body());
            assertEquals(c[3], r.json().at("/error/code").asText(), r.body());
            assertFalse(r.json().at("/error/message").asText().isBlank());
        }
        String named = "{\"model\":\"" + server.service().modelId() + "\",\"prompt\":\"x\",\"max_tokens\":2}";
        assertEquals(200, post(server, "/v1/completions", named).status(), "the served model's own name");
        assertEquals(405, get(server, "/v1/completions").status());
        var big = post(server, "/v1/completions", "{\"prompt\":\"" + "a".repeat(2 << 20) + "\"}");
        assertEquals(413, big.status());
        // within the body limit but far beyond the context: refused before encoding (before: 20-37 s of encoding for a
        // 4 MB body, and clients past the server's 31 s request timer got a reset instead of the answer)
        long t0 = System.nanoTime();
        var huge = post(server, "/v1/completions", "{\"prompt\":\"" + "Once upon a time ".repeat(60_000) + "\"}"); // 1.02 MB, under the tests' body limit
        assertEquals(400, huge.status(), huge.body());
        assertEquals("context_length_exceeded", huge.json().at("/error/code").asText());
        assertTrue(huge.json().at("/error/message").asText().contains("the prompt is at least"), huge.body());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "answered without encoding");
    }

    @Test
    void sseWithCurlEqualsTheWholeAnswer() throws Exception {
        Assumptions.assumeTrue(curlPresent(), "skipped: curl is not installed");
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"max_tokens\":20,\"seed\":42,\"temperature\":0.9%s}";
        String whole = post(server, "/v1/chat/completions", body.formatted("")).json().at("/choices/0/message/content").asText();
        Process p = new ProcessBuilder("curl", "-sN", "--max-time", "60", "-H", "Content-Type: application/json",
                "-d", body.formatted(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"),
                server.baseUrl() + "/v1/chat/completions").redirectErrorStream(true).start();
        List<String> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data: ")) events.add(line.substring(6));
                else assertTrue(line.isEmpty(), "unexpected SSE line: " + line);
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals("[DONE]", events.getLast());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (int i = 0; i < events.size() - 1; i++) {
            JsonNode e = Json.MAPPER.readTree(events.get(i));
            assertEquals("chat.completion.chunk", e.get("object").asText());
            if (i == 0) assertEquals("assistant", e.at("/choices/0/delta/role").asText());
            if (e.has("usage")) {
                usage = e.get("usage");
                continue;
            }
            assertTrue(finish == null, "no content after the finish reason");
            text.append(e.at("/choices/0/delta/content").asText(""));
            if (!e.at("/choices/0/finish_reason").isNull()) finish = e.at("/choices/0/finish_reason").asText();
        }
        assertEquals(whole, text.toString());
        assertNotNull(finish);
        assertNotNull(usage);
    }

    @Test
    void aResentHistoryReusesTheLiveCache() throws Exception {
        String t1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Where is the cat?\"}],\"max_tokens\":12,\"seed\":7}";
        var r1 = post(server, "/v1/chat/completions", t1);
        String a1 = r1.json().at("/choices/0/message/content").asText();
        String t2 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Where is the cat?\"},{\"role\":\"assistant\",\"content\":"
                + Json.MAPPER.writeValueAsString(a1) + "},{\"role\":\"user\",\"content\":\"And the dog?\"}],\"max_tokens\":12,\"seed\":7}";
        var r2 = post(server, "/v1/chat/completions", t2);
        assertEquals(200, r2.status(), r2.body());
        int cached = r2.json().at("/usage/prompt_tokens_details/cached_tokens").asInt();
        int prompt = r2.json().at("/usage/prompt_tokens").asInt();
        assertTrue(cached > 0 && cached < prompt, "cached " + cached + " of " + prompt + " prompt tokens");
    }

    @Test
    void clientGoneMidStreamStopsGenerationAndReturnsMemory() throws Exception {
        Map<String, Double> m0 = metrics(server);
        double before = m0.get("nq_turns_cancelled_total");
        String body = "{\"prompt\":\"The end\",\"max_tokens\":400,\"stream\":true,\"seed\":1}";
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("HTTP/1.1 200"));
            int events = 0;
            String line;
            while (events < 3 && (line = in.readLine()) != null) if (line.contains("data: ")) events++;
        } // closed mid-stream
        long deadline = System.nanoTime() + 120_000_000_000L; // a bounded wait, generous for a loaded machine
        Map<String, Double> m;
        do {
            Thread.sleep(100);
            m = metrics(server);
        } while ((m.get("nq_turns_cancelled_total") <= before || m.get("nq_sessions_running") > 0) && System.nanoTime() < deadline);
        assertEquals(before + 1, m.get("nq_turns_cancelled_total"));
        assertEquals(0, m.get("nq_sessions_running"));
        assertTrue(m.get("nq_completion_tokens_total") < 1000);
        assertTrue(m.get("nq_kv_bytes_held") <= m.get("nq_kv_bytes_reserved"));
        // the stopped turn's conversation is dropped: its cache's bytes and its reservation are given back
        assertEquals(m0.get("nq_sessions_live"), m.get("nq_sessions_live"));
        assertEquals(m0.get("nq_kv_bytes_reserved"), m.get("nq_kv_bytes_reserved"));
        assertEquals(m0.get("nq_kv_bytes_held"), m.get("nq_kv_bytes_held"));
    }

    @Test
    void tooManyConcurrentRequestsGet429WithRetryAfter() throws Exception {
        // a server with one worker and one queue slot; six requests at once: at least four are turned away
        try (NqServer small = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20).withSessions(4, 1, 1))) {
            ExecutorService ex = Executors.newFixedThreadPool(6);
            List<Future<TestServers.Reply>> fs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                fs.add(ex.submit(() -> post(small, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":200,\"seed\":3}")));
            }
            int ok = 0, limited = 0;
            for (Future<TestServers.Reply> f : fs) {
                TestServers.Reply r = f.get(120, TimeUnit.SECONDS);
                if (r.status() == 200) ok++;
                if (r.status() == 429) {
                    limited++;
                    assertEquals("1", r.raw().headers().firstValue("Retry-After").orElse(null));
                    assertEquals("rate_limit_exceeded", r.json().at("/error/type").asText());
                }
            }
            ex.shutdown();
            assertEquals(6, ok + limited);
            assertTrue(ok >= 1 && limited >= 1, ok + " ok, " + limited + " limited");
        }
    }

    @Test
    void aRequestLargerThanTheWholeBudgetGets503() throws Exception {
        // 64 KiB of KV memory: a dense fp32 chunk of stories260K is bigger, so no turn fits
        try (NqServer tiny = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 10))) {
            var r = post(tiny, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":5}");
            assertEquals(503, r.status(), r.body());
            assertEquals("kv_memory", r.json().at("/error/code").asText());
            assertEquals(200, get(tiny, "/health").status());
        }
        try (NqServer balanced = NqServer.start(model, TestServers.config(KvCompression.balanced(), 64L << 20))) {
            assertEquals(200, post(balanced, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":5}").status());
        }
    }

    private static boolean curlPresent() {
        try {
            return new ProcessBuilder("curl", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
