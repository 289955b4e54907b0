package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.server.api.Json;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.server.conversation.StoreOffloader;
import dev.nexusquant.store.KvStores;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * How many conversations of about 2,000 tokens one KV memory budget holds, with their speed: the benchmark of
 * BENCHMARKS.md ("Serving"). A real server on loopback; {@code conversations} clients, {@code clients} at a time, each:
 * <ol>
 *   <li>turn 1: a prompt of {@code promptTokens} tokens of held-out text (a different passage per conversation),
 *       {@code gen} tokens generated, streamed (time to first token measured at the client);</li>
 *   <li>after all first turns: turn 2, the same text plus what was generated plus a short continuation: a conversation
 *       whose cache is still in memory continues it (cached_tokens ~ 2,000), an offloaded one prefills again.</li>
 * </ol>
 * Prints the conversations held after turn 1, offloads, the share of turn 2 served from a live cache, KV bytes held
 * (and per conversation), the ratio against fp16, the budget's high-water mark, time to first token (median, p90) and
 * aggregate completion tokens/s of each phase.
 *
 * <p>Arguments: MODEL TEXT KV KV_MEMORY CONVERSATIONS [CLIENTS=2] [PROMPT_TOKENS=1990] [GEN=16] [STORE=evict]
 * (STORE as {@code serve --kv-store}: {@code evict}, {@code dir:PATH}, {@code redis://HOST:PORT}).
 */
public final class ServeBench {

    public static void main(String[] a) throws Exception {
        Path modelPath = Path.of(a[0]);
        String text = Files.readString(Path.of(a[1]));
        String kvArg = a[2];
        long kvMemory = KvSpec.parseSize(a[3]);
        int conversations = Integer.parseInt(a[4]);
        int clients = a.length > 5 ? Integer.parseInt(a[5]) : 2;
        int promptTokens = a.length > 6 ? Integer.parseInt(a[6]) : 1990;
        int gen = a.length > 7 ? Integer.parseInt(a[7]) : 16;
        String storeSpec = a.length > 8 ? a[8] : "evict";
        try (Model model = Model.load(modelPath)) {
            KvCacheFactory kv = ServerConfig.kvCache(model, kvArg);
            int[] all = model.tokenizer().encode(text, false);
            List<String> passages = new ArrayList<>();
            for (int i = 0; i < conversations; i++) {
                int from = (int) ((long) i * (all.length - promptTokens) / Math.max(1, conversations));
                passages.add(model.tokenizer().decode(Arrays.copyOfRange(all, from, from + promptTokens - 2)));
            }
            ServerConfig cfg = new ServerConfig("127.0.0.1", 0, kv, kvMemory, 100_000, clients, 65_536, gen,
                    600_000, 4 << 20, 60_000);
            System.out.printf(Locale.ROOT, "model %s, kv %s, kv-memory %d, %d conversations of ~%d tokens, %d clients, %d generated per turn; load %s%n",
                    modelPath.getFileName(), kv.describe(), kvMemory, conversations, promptTokens, clients, gen,
                    Files.readString(Path.of("/proc/loadavg")).trim());
            ConversationOffloader offloader = storeSpec.equals("evict") ? new EvictingOffloader()
                    : new StoreOffloader(model, KvStores.open(storeSpec), 100_000);
            try (NqServer server = NqServer.start(model, cfg, offloader)) {
                String[] first = new String[conversations];
                Phase p1 = phase(server, clients, conversations, i -> passages.get(i), gen, first);
                Map<String, Double> m1 = TestServers.metrics(server);
                report("turn 1", p1, m1, conversations);
                Phase p2 = phase(server, clients, conversations, i -> passages.get(i) + first[i] + " Then", gen, null);
                Map<String, Double> m2 = TestServers.metrics(server);
                report("turn 2", p2, m2, conversations);
                System.out.printf(Locale.ROOT, "turn 2 continued a cache: %d of %d (live prefix hits %.0f, restored from the store %.0f); offloads %.0f; store %s: saves %.0f, failures %.0f; held max %.0f of %d bytes; overruns %.0f%n",
                        p2.cachedTurns, conversations, m2.get("nq_prefix_hits_total"), m2.get("nq_store_hits_total"),
                        m2.get("nq_sessions_offloaded_total"), offloader.describe(), m2.get("nq_store_saves_total"),
                        m2.get("nq_store_failures_total"), m2.get("nq_kv_bytes_held_max"), kvMemory, m2.get("nq_kv_budget_overruns_total"));
                if (offloader instanceof StoreOffloader so) {
                    System.out.printf(Locale.ROOT, "store bytes written %d%s%n", so.bytesWritten(),
                            so.lastFailure() == null ? "" : ", last failure: " + so.lastFailure());
                }
            }
        }
    }

    record Phase(double seconds, long[] ttftNanos, long completionTokens, int cachedTurns, int errors) {
    }

    interface Prompt {
        String of(int i);
    }

    static Phase phase(NqServer s, int clients, int n, Prompt prompt, int gen, String[] out) throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        long t0 = System.nanoTime();
        List<Future<long[]>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            fs.add(ex.submit(() -> turn(s, prompt.of(id), gen, out, id)));
        }
        long[] ttft = new long[n];
        long tokens = 0;
        int cached = 0, errors = 0;
        for (int i = 0; i < n; i++) {
            long[] r = fs.get(i).get();
            ttft[i] = r[0];
            tokens += r[1];
            if (r[2] > 1000) cached++;
            if (r[3] != 200) errors++;
        }
        ex.shutdown();
        return new Phase((System.nanoTime() - t0) / 1e9, ttft, tokens, cached, errors);
    }

    /** One streamed completion: {ttft nanos, completion tokens, cached tokens, status}. */
    static long[] turn(NqServer s, String prompt, int gen, String[] out, int id) throws Exception {
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.put("prompt", prompt).put("max_tokens", gen).put("temperature", 0).put("stream", true);
        req.putObject("stream_options").put("include_usage", true);
        long t0 = System.nanoTime();
        HttpResponse<java.io.InputStream> r = TestServers.HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/v1/completions"))
                .timeout(Duration.ofMinutes(30)).POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(req))).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        long ttft = 0, completion = 0, cached = 0;
        StringBuilder text = new StringBuilder();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
                JsonNode e = Json.MAPPER.readTree(line.substring(6));
                if (e.has("error")) throw new IllegalStateException(line);
                if (e.has("usage")) {
                    completion = e.at("/usage/completion_tokens").asLong();
                    cached = e.at("/usage/prompt_tokens_details/cached_tokens").asLong();
                    continue;
                }
                String t = e.at("/choices/0/text").asText("");
                if (!t.isEmpty() && ttft == 0) ttft = System.nanoTime() - t0;
                text.append(t);
            }
        }
        if (out != null) out[id] = text.toString();
        return new long[]{ttft, completion, cached, r.statusCode()};
    }

    static void report(String name, Phase p, Map<String, Double> m, int n) throws java.io.IOException {
        System.out.printf(Locale.ROOT, "(load average at the end of %s: %s)%n", name, Files.readString(Path.of("/proc/loadavg")).trim());
        long[] t = p.ttftNanos().clone();
        Arrays.sort(t);
        System.out.printf(Locale.ROOT, "%s: %.1f s, %d completion tokens, %.2f tokens/s aggregate, TTFT median %.2f s p90 %.2f s, errors %d; "
                        + "live %.0f, offloaded %.0f, KV held %.0f bytes (%.0f per live conversation), ratio vs fp16 %.2f, reserved %.0f%n",
                name, p.seconds(), p.completionTokens(), p.completionTokens() / p.seconds(), t[n / 2] / 1e9, t[(int) (n * 0.9)] / 1e9,
                p.errors(), m.get("nq_sessions_live"), m.get("nq_sessions_offloaded_total"), m.get("nq_kv_bytes_held"),
                m.get("nq_kv_bytes_held") / Math.max(1, m.get("nq_sessions_live")), m.get("nq_kv_compression_ratio"),
                m.get("nq_kv_bytes_reserved"));
    }
}
