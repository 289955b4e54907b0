package dev.nexusquant.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.api.Json;
import dev.nexusquant.server.conversation.StoreOffloader;
import dev.nexusquant.store.DirectoryKvStore;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStoreException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Offloading through a store: with one conversation slot, every turn of another conversation pushes the first out
 * (saved to a directory store); its next turn restores it. A conversation offloaded, restored, offloaded and restored
 * again answers exactly as one that never left (dense and balanced: restoring is bit-exact), its restored cache
 * continues ({@code cached_tokens}), and what fails in the store (a damaged or vanished value, a store that refuses
 * writes) costs a prefill, never an error.
 */
class StoreOffloadTest extends OnStories260K {

    @TempDir
    Path dir;



    /** Three turns of one chat; {@code between} runs after each turn (other clients). */
    static List<ConversationReuseTest.Turn> chat(NqServer s, String topic, Runnable between) throws Exception {
        return ConversationReuseTest.chat(s, topic, 3, between);
    }

    static Runnable otherClient(NqServer s) {
        return () -> {
            try {
                ArrayNode m = Json.MAPPER.createArrayNode();
                m.addObject().put("role", "user").put("content", "Tell me about a fox.");
                ConversationReuseTest.chatTurn(s, m, 1, 4);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
    }

    static ServerConfig oneSlot(KvCacheFactory kv) {
        return TestServers.config(kv, 64L << 20).withSessions(1, 1, 16);
    }

    @Test
    void offloadedRestoredOffloadedRestoredAnswersAsIfItNeverLeft() throws Exception {
        for (KvCacheFactory kv : List.of(model.kvCacheFactory(), KvCompression.balanced())) {
            List<ConversationReuseTest.Turn> alone;
            try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20))) {
                alone = chat(s, "a big tree", () -> { });
            }
            StoreOffloader off = new StoreOffloader(model, new DirectoryKvStore(dir.resolve(kv.describe().substring(0, 4)), 1L << 30), 100);
            try (NqServer s = NqServer.start(model, oneSlot(kv), off)) {
                List<ConversationReuseTest.Turn> moved = chat(s, "a big tree", otherClient(s));
                Map<String, Double> m = TestServers.metrics(s);
                String what = kv.describe() + " " + m;
                for (int t = 0; t < alone.size(); t++) {
                    assertEquals(alone.get(t).answer(), moved.get(t).answer(), kv.describe() + " turn " + t);
                    assertEquals(alone.get(t).cached(), moved.get(t).cached(), "the restored cache continues: turn " + t);
                }
                // the tree was pushed out after turns 1 and 2 and came back for turns 2 and 3; the fox went out each time
                assertEquals(2, m.get("nq_store_hits_total"), what);
                assertTrue(m.get("nq_store_saves_total") >= 4, what);
                assertEquals(0, m.get("nq_store_failures_total"), what);
                assertTrue(m.get("nq_kv_bytes_held_max") <= m.get("nq_kv_bytes_limit"));
                assertEquals(0, m.get("nq_kv_budget_overruns_total"));
            }
            try (Stream<Path> left = Files.list(dir.resolve(kv.describe().substring(0, 4)))) {
                assertEquals(0, left.filter(p -> !p.getFileName().toString().startsWith(".")).count(),
                        "the server deletes its saved conversations when it stops");
            }
        }
    }

    /**
     * {@code basis=auto} in the server's settings: the pool fits the model's KLT bases once (into the configured basis
     * cache), /v1/models names the spec with {@code basis=auto}, and a conversation offloaded and restored (the restore
     * finds the same bases and checks their fingerprint) answers as one that never left.
     */
    @Test
    void autoKltBasisSettingsServeOffloadAndRestore() throws Exception {
        String before = System.getProperty("nq.klt.cache");
        Path cache = dir.resolve("klt-cache");
        System.setProperty("nq.klt.cache", cache.toString());
        try {
            KvCacheFactory kv = ServerConfig.kvCache(model, "max,keys=pre,rot=klt,basis=auto");
            try (Stream<Path> files = Files.list(cache)) {
                assertEquals(1, files.filter(p -> p.getFileName().toString().endsWith("-pre.klt")).count(), "fitted at configuration");
            }
            List<ConversationReuseTest.Turn> alone;
            try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20))) {
                assertTrue(TestServers.get(s, "/v1/models").body().contains("basis=auto"));
                alone = chat(s, "a big tree", () -> { });
            }
            // the unresolved settings work as well: the pool resolves them for its model
            KvCacheFactory unresolved = dev.nexusquant.kv.KvSpec.parse("max,keys=pre,rot=klt,basis=auto");
            StoreOffloader off = new StoreOffloader(model, new DirectoryKvStore(dir.resolve("klt-store"), 1L << 30), 100);
            try (NqServer s = NqServer.start(model, oneSlot(unresolved), off)) {
                List<ConversationReuseTest.Turn> moved = chat(s, "a big tree", otherClient(s));
                Map<String, Double> m = TestServers.metrics(s);
                for (int t = 0; t < alone.size(); t++) {
                    assertEquals(alone.get(t).answer(), moved.get(t).answer(), "turn " + t);
                    assertEquals(alone.get(t).cached(), moved.get(t).cached(), "the restored cache continues: turn " + t);
                }
                assertEquals(2, m.get("nq_store_hits_total"), m.toString());
                assertEquals(0, m.get("nq_store_failures_total"), m.toString());
            }
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    @Test
    void throughRedisToo() throws Exception {
        String url = System.getenv("NQ_REDIS_URL");
        org.junit.jupiter.api.Assumptions.assumeTrue(url != null && !url.isBlank(),
                "skipped: NQ_REDIS_URL is not set (.ci/run starts a Redis and sets it)");
        KvCacheFactory kv = KvCompression.balanced();
        List<ConversationReuseTest.Turn> alone;
        try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20))) {
            alone = chat(s, "a little dog", () -> { });
        }
        try (NqServer s = NqServer.start(model, oneSlot(kv), new StoreOffloader(model, dev.nexusquant.store.KvStores.open(url), 100))) {
            List<ConversationReuseTest.Turn> moved = chat(s, "a little dog", otherClient(s));
            Map<String, Double> m = TestServers.metrics(s);
            for (int t = 0; t < alone.size(); t++) assertEquals(alone.get(t).answer(), moved.get(t).answer(), "turn " + t);
            assertEquals(2, m.get("nq_store_hits_total"), m.toString());
            assertEquals(0, m.get("nq_store_failures_total"), m.toString());
        }
    }

    @Test
    void aDamagedOrVanishedValueCostsAPrefillNotAnError() throws Exception {
        List<ConversationReuseTest.Turn> alone;
        try (NqServer s = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20))) {
            alone = chat(s, "the moon", () -> { });
        }
        Path store = dir.resolve("damaged");
        StoreOffloader off = new StoreOffloader(model, new DirectoryKvStore(store, 1L << 30), 100);
        try (NqServer s = NqServer.start(model, oneSlot(model.kvCacheFactory()), off)) {
            int[] turn = {0};
            List<ConversationReuseTest.Turn> hurt = chat(s, "the moon", () -> {
                otherClient(s).run(); // pushes the moon out: saved
                try (Stream<Path> files = Files.list(store)) {
                    for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                        if (turn[0] == 0) { // flip a byte in the middle of every saved value
                            byte[] b = Files.readAllBytes(f);
                            b[b.length / 2] ^= 0x5A;
                            Files.write(f, b);
                        } else {
                            Files.delete(f);
                        }
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                turn[0]++;
            });
            Map<String, Double> m = TestServers.metrics(s);
            for (int t = 0; t < alone.size(); t++) {
                assertEquals(alone.get(t).answer(), hurt.get(t).answer(), "turn " + t + " (dense: a prefill gives the same answer)");
            }
            assertEquals(0, m.get("nq_store_hits_total"));
            assertTrue(m.get("nq_store_failures_total") >= 2, m.toString());
            assertTrue(off.lastFailure() != null);
        }
    }

    @Test
    void aStoreThatRefusesWritesDropsTheConversation() throws Exception {
        KvStore refusing = new KvStore() {
            public byte[] get(String key) { return null; }
            public void put(String key, byte[] value) throws KvStoreException {
                throw new KvStoreException(KvStoreException.Kind.UNAVAILABLE, "disk full");
            }
            public boolean contains(String key) { return false; }
            public boolean delete(String key) { return false; }
            public String describe() { return "refusing"; }
            public void close() { }
        };
        try (NqServer s = NqServer.start(model, oneSlot(model.kvCacheFactory()), new StoreOffloader(model, refusing, 100))) {
            List<ConversationReuseTest.Turn> turns = chat(s, "a red ball", otherClient(s));
            Map<String, Double> m = TestServers.metrics(s);
            assertEquals(3, turns.size());
            assertEquals(0, m.get("nq_store_saves_total"));
            assertTrue(m.get("nq_store_failures_total") >= 4);
            assertEquals(0, turns.get(2).cached(), "dropped: prefilled again");
        }
    }
}
