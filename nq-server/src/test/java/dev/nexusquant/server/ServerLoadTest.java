package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.api.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.server.conversation.StoreOffloader;
import dev.nexusquant.store.DirectoryKvStore;

import java.nio.file.Path;
import java.util.function.Supplier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Concurrent clients, each running a multi-turn chat (resending the whole history every turn), against a server
 * whose KV memory holds only a few conversations: every answer equals the one the same conversation gets alone (same
 * seeds), the only errors are 429 and 503 (retried after Retry-After), and the budget is never exceeded (sampled from
 * /metrics during the run, and its high-water mark at the end).
 */
class ServerLoadTest extends OnStories260K {

    static final int CLIENTS = 6, TURNS = 3, MAX_TOKENS = 16;
    static final String[] TOPICS = {"a cat", "the sea", "a red ball", "a big tree", "the moon", "a little dog"};



    @Test
    void denseCachesUnderMemoryPressureGiveTheSameAnswers() throws Exception {
        // room for the two running turns and about one idle conversation: most idle ones are pushed out
        run(model.kvCacheFactory(), 3.5, true);
    }

    @Test
    void compressedCachesGiveTheSameAnswers() throws Exception {
        // without offloading: an evicted compressed conversation prefills its history as one prompt, which compresses
        // differently from turn-by-turn (the store restores the same cache instead: the next test)
        run(KvCompression.balanced(), 64, false);
    }

    @Test
    void compressedCachesOffloadedThroughAStoreGiveTheSameAnswers(@TempDir Path dir) throws Exception {
        // three conversation slots for six clients and room for about three turns: conversations go to the store and
        // come back bit-exact, so every answer is the one the conversation gets alone
        run(KvCompression.balanced(), 3, true, 3, () -> {
            try {
                return new StoreOffloader(model, new DirectoryKvStore(dir, 1L << 30), 1000);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    private void run(KvCacheFactory kv, double conversationsInBudget, boolean expectOffloads) throws Exception {
        run(kv, conversationsInBudget, expectOffloads, 16, EvictingOffloader::new);
    }

    private void run(KvCacheFactory kv, double conversationsInBudget, boolean expectOffloads, int sessions,
                     Supplier<ConversationOffloader> offloader) throws Exception {
        List<List<String>> alone = new ArrayList<>();
        try (NqServer ref = NqServer.start(model, TestServers.config(kv, 256L << 20))) {
            for (int c = 0; c < CLIENTS; c++) alone.add(conversation(ref, c, null));
        }
        long perTurn;
        try (NqServer probe = NqServer.start(model, TestServers.config(kv, 256L << 20))) {
            perTurn = probe.service().pool().need(0, 0, 160);
        }
        long budget = (long) (perTurn * conversationsInBudget);
        ServerConfig cfg = TestServers.config(kv, budget).withSessions(sessions, 2, 2).withTimeouts(1_000, 2_000);
        try (NqServer server = NqServer.start(model, cfg, offloader.get())) {
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<String> violation = new AtomicReference<>();
            AtomicInteger samples = new AtomicInteger();
            Thread sampler = Thread.ofPlatform().start(() -> {
                while (!done.get()) {
                    try {
                        Map<String, Double> m = TestServers.metrics(server);
                        samples.incrementAndGet();
                        if (m.get("nq_kv_bytes_held") > budget || m.get("nq_kv_bytes_reserved") > budget) {
                            violation.set("held " + m.get("nq_kv_bytes_held") + " reserved " + m.get("nq_kv_bytes_reserved") + " > " + budget);
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        violation.compareAndSet(null, "metrics: " + e);
                    }
                }
            });
            AtomicInteger retries = new AtomicInteger();
            ExecutorService ex = Executors.newFixedThreadPool(CLIENTS);
            List<Future<List<String>>> fs = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int id = c;
                fs.add(ex.submit(() -> conversation(server, id, retries)));
            }
            for (int c = 0; c < CLIENTS; c++) {
                assertEquals(alone.get(c), fs.get(c).get(300, TimeUnit.SECONDS), "conversation " + c);
            }
            ex.shutdown();
            done.set(true);
            sampler.join();
            Map<String, Double> m = TestServers.metrics(server);
            System.out.printf("load test %s: budget %d, held max %.0f, offloads %.0f, prefix hits %.0f, store saves %.0f hits %.0f failures %.0f, 429/503 retried %d, metric samples %d%n",
                    kv.describe(), budget, m.get("nq_kv_bytes_held_max"), m.get("nq_sessions_offloaded_total"),
                    m.get("nq_prefix_hits_total"), m.get("nq_store_saves_total"), m.get("nq_store_hits_total"),
                    m.get("nq_store_failures_total"), retries.get(), samples.get());
            assertEquals(0, m.get("nq_store_failures_total"));
            assertEquals(null, violation.get());
            assertTrue(m.get("nq_kv_bytes_held_max") <= budget);
            assertEquals(0, m.get("nq_kv_budget_overruns_total"));
            // under pressure, whether a conversation is still in memory when its next turn comes depends on timing
            // (ConversationReuseTest checks the reuse itself). With room for all, every later turn reuses its cache
            if (!expectOffloads) {
                assertEquals(CLIENTS * (TURNS - 1), m.get("nq_prefix_hits_total"), "resent histories reuse live caches");
            }
            if (expectOffloads) assertTrue(m.get("nq_sessions_offloaded_total") > 0, "the budget was tight enough to offload");
        }
    }

    /** Runs one client's turns; returns the assistant's answers. Retries 429/503 after Retry-After. */
    static List<String> conversation(NqServer s, int id, AtomicInteger retries) throws Exception {
        ArrayNode messages = Json.MAPPER.createArrayNode();
        messages.addObject().put("role", "system").put("content", "You tell short stories.");
        List<String> answers = new ArrayList<>();
        for (int t = 0; t < TURNS; t++) {
            messages.addObject().put("role", "user").put("content", "Tell me about " + TOPICS[id % TOPICS.length] + (t == 0 ? "." : ", again."));
            ObjectNode req = Json.MAPPER.createObjectNode();
            req.set("messages", messages);
            req.put("max_tokens", MAX_TOKENS).put("temperature", 0.8).put("seed", 1000L * id + t);
            TestServers.Reply r;
            int attempts = 0;
            while (true) {
                r = TestServers.post(s, "/v1/chat/completions", Json.MAPPER.writeValueAsString(req));
                if (r.status() != 429 && r.status() != 503) break;
                assertTrue(retries != null, "the reference run is never refused: " + r.body());
                assertTrue(++attempts < 2000, "still refused after 2000 tries: " + r.body());
                retries.incrementAndGet();
                int after = Integer.parseInt(r.raw().headers().firstValue("Retry-After").orElse("0"));
                Thread.sleep(after > 0 ? 50L * after : 50);
            }
            assertEquals(200, r.status(), r.body());
            JsonNode j = r.json();
            String answer = j.at("/choices/0/message/content").asText();
            assertTrue(j.at("/choices/0/finish_reason").asText().matches("stop|length"));
            answers.add(answer);
            messages.addObject().put("role", "assistant").put("content", answer);
        }
        return answers;
    }
}
