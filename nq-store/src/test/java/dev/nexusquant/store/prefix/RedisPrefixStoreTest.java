package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStoreException;
import dev.nexusquant.store.KvStores;
import dev.nexusquant.store.RedisKvStore;
import dev.nexusquant.store.RedisTestAccess;
import dev.nexusquant.store.RedisTesting;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.RedisClient;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.nexusquant.store.prefix.PrefixTesting.assertSameLogits;
import static dev.nexusquant.store.prefix.PrefixTesting.cold;
import static dev.nexusquant.store.prefix.PrefixTesting.continueGreedy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prefix store on a real Redis server: shared between two JVMs, a server killed mid-run, an entry corrupted
 * inside Redis, a server that never answers. The shared server is {@code NQ_REDIS_URL} (skipped without it); the kill
 * test starts its own. Time bounds only keep a broken build from hanging.
 */
class RedisPrefixStoreTest {

    private static final Duration BOUND = Duration.ofMinutes(5);
    private static final KvCacheFactory CACHE = KvCompression.balanced();

    @TempDir
    static Path modelDir;
    static Path modelFile;
    static Model model;

    @BeforeAll
    static void load() throws IOException {
        modelFile = PrefixTesting.writeModel(modelDir);
        model = Model.load(modelFile);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The system prompt (600 tokens: chunks 0 and 1) followed by a user's tokens. */
    static int[] prompt(long userSeed, int userTokens) {
        return PrefixTesting.concat(PrefixTesting.prompt(60, 600), PrefixTesting.prompt(userSeed, userTokens));
    }

    /** Deletes the chunks a prompt would use, so that a test starts from an empty store whatever ran before. */
    static void forget(KvStore store, int[] p) throws KvStoreException {
        for (String k : new ChunkKeys(PrefixStore.identity(model), CACHE.describe(), 256).keys(p, p.length / 256)) store.delete(k);
    }

    @Test
    void twoProcessesShareAPrefix(@TempDir Path tmp) throws Exception {
        String url = RedisTesting.sharedUrl();
        int[] a = prompt(61, 300), b = prompt(62, 450);
        try (KvStore store = KvStores.open(url)) {
            forget(store, a);
            forget(store, b);
        }
        int[] first = assertTimeoutPreemptively(BOUND, () -> child(url, 61, 300, tmp.resolve("a.bin"), null));
        assertEquals(0, first[0], "hits of the first process");
        assertEquals(3, first[1], "chunks stored by the first process");
        float[] logits = new float[model.config().vocabSize()];
        int[] second = assertTimeoutPreemptively(BOUND, () -> child(url, 62, 450, tmp.resolve("b.bin"), logits));
        assertEquals(2, second[0], "the second process restores the system prompt's two chunks");
        assertEquals(0, second[2], "problems");
        assertArrayEquals(cold(model, CACHE, b, 0).getFirst(), logits, "the second process's logits are the cold ones");
    }

    /** Runs {@link PrefixChild} in a new JVM; returns {hits, stored, problems} and fills {@code logits}. */
    private static int[] child(String url, long seed, int n, Path out, float[] logits) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Dnq.vectorization=scalar",
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), PrefixChild.class.getName(),
                modelFile.toString(), url, Long.toString(seed), Integer.toString(n), out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output;
        try (InputStream in = p.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(4, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish: " + output);
        }
        assertEquals(0, p.exitValue(), "child JVM failed: " + output);
        System.out.print("[child] " + output);
        try (DataInputStream in = new DataInputStream(Files.newInputStream(out))) {
            int[] r = {in.readInt(), in.readInt(), in.readInt()};
            int len = in.readInt();
            for (int i = 0; i < len; i++) {
                float f = in.readFloat();
                if (logits != null) logits[i] = f;
            }
            return r;
        }
    }

    /**
     * The server is killed in the middle of a prefill, after the first chunk was fetched: the rest is prefilled by the
     * model, the stats name the failure, and the logits are the cold ones. Later calls fall back at once.
     */
    @Test
    void aServerKilledMidRunFallsBackToPrefill() throws Exception {
        int[] p = prompt(63, 500); // 4 restorable chunks
        List<float[]> want = cold(model, CACHE, p, 2);
        try (RedisTesting.OwnServer server = new RedisTesting.OwnServer(); KvStore redis = KvStores.open(server.url())) {
            PrefixStore.Prefilled warm = new PrefixStore(model, redis).prefill(CACHE, p);
            warm.session().close();
            assertEquals(4, warm.stats().stored());
            KvStore killing = new KillAfterFirstGet(redis, server);
            PrefixStore.Prefilled got = assertTimeoutPreemptively(BOUND, () -> new PrefixStore(model, killing).prefill(CACHE, p));
            assertEquals(1, got.stats().hits());
            assertTrue(got.stats().problems().getFirst().contains("unavailable"), got.stats().problems().toString());
            assertEquals(0, got.stats().stored());
            try (var s = got.session()) {
                assertSameLogits(want, continueGreedy(s, got.logits(), 2), "after the kill");
            }
            PrefixStore.Prefilled after = assertTimeoutPreemptively(BOUND, () -> new PrefixStore(model, redis).prefill(CACHE, p));
            assertEquals(0, after.stats().hits());
            try (var s = after.session()) {
                assertSameLogits(want, continueGreedy(s, after.logits(), 2), "server gone");
            }
        }
    }

    /** An entry whose bytes are changed inside Redis is detected, deleted and recomputed; results stay the cold ones. */
    @Test
    void anEntryCorruptedInsideRedisIsRecomputed() throws Exception {
        String url = RedisTesting.sharedUrl();
        int[] p = prompt(64, 500);
        List<float[]> want = cold(model, CACHE, p, 2);
        KvStores.Redis addr = RedisTestAccess.parse(url);
        try (KvStore store = KvStores.open(url); RedisClient raw = RedisClient.create(addr.host(), addr.port())) {
            forget(store, p);
            PrefixStore ps = new PrefixStore(model, store);
            ps.prefill(CACHE, p).session().close();
            String[] keys = new ChunkKeys(PrefixStore.identity(model), CACHE.describe(), 256).keys(p, 4);
            byte[] rk = RedisTestAccess.redisKey(keys[2]);
            long at = raw.strlen(rk) / 2;
            byte[] one = raw.getrange(rk, at, at);
            raw.setrange(rk, at, new byte[]{(byte) (one[0] ^ 0x10)});
            PrefixStore.Prefilled got = ps.prefill(CACHE, p);
            assertEquals(2, got.stats().hits());
            assertTrue(got.stats().problems().getFirst().contains("damaged"), got.stats().problems().toString());
            try (var s = got.session()) {
                assertSameLogits(want, continueGreedy(s, got.logits(), 2), "corrupted entry");
            }
            PrefixStore.Prefilled again = ps.prefill(CACHE, p);
            assertEquals(4, again.stats().hits());
            try (var s = again.session()) {
                assertSameLogits(want, continueGreedy(s, again.logits(), 2), "recomputed entry");
            }
        }
    }

    /** A server that accepts and never answers: the lookup times out, the prompt is prefilled. */
    @Test
    void aSilentServerTimesOutAndThePromptIsPrefilled() throws Exception {
        int[] p = prompt(65, 100);
        List<Socket> held = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             KvStore store = new RedisKvStore("127.0.0.1", silent.getLocalPort(), 0, Duration.ofMillis(500))) {
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        Socket s = silent.accept();
                        synchronized (held) {
                            held.add(s);
                        }
                    }
                } catch (IOException closed) {
                    // done
                }
            });
            PrefixStore.Prefilled got = assertTimeoutPreemptively(BOUND, () -> new PrefixStore(model, store).prefill(CACHE, p));
            assertEquals(0, got.stats().hits());
            assertTrue(got.stats().problems().getFirst().contains("timeout"), got.stats().problems().toString());
            try (var s = got.session()) {
                assertSameLogits(cold(model, CACHE, p, 1), continueGreedy(s, got.logits(), 1), "silent server");
            }
        } finally {
            synchronized (held) {
                for (Socket s : held) s.close();
            }
        }
    }

    /** A store that kills its Redis server right after the first value it returns. */
    private record KillAfterFirstGet(KvStore inner, RedisTesting.OwnServer server) implements KvStore {
        @Override
        public byte[] get(String key) throws KvStoreException {
            byte[] v = inner.get(key);
            try {
                server.kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return v;
        }

        @Override
        public void put(String key, byte[] value) throws KvStoreException {
            inner.put(key, value);
        }

        @Override
        public boolean contains(String key) throws KvStoreException {
            return inner.contains(key);
        }

        @Override
        public boolean delete(String key) throws KvStoreException {
            return inner.delete(key);
        }

        @Override
        public String describe() {
            return inner.describe();
        }

        @Override
        public void close() {
        }
    }
}
