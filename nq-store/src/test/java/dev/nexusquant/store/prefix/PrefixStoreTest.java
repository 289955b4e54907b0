package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.store.DirectoryKvStore;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStoreException;
import dev.nexusquant.store.RedisKvStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static dev.nexusquant.store.prefix.PrefixTesting.assertSameLogits;
import static dev.nexusquant.store.prefix.PrefixTesting.cold;
import static dev.nexusquant.store.prefix.PrefixTesting.concat;
import static dev.nexusquant.store.prefix.PrefixTesting.continueGreedy;
import static dev.nexusquant.store.prefix.PrefixTesting.prompt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixStoreTest {

    @TempDir
    static Path modelDir;
    static Model model;

    @BeforeAll
    static void load() throws IOException {
        model = Model.load(PrefixTesting.writeModel(modelDir));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The caches whose restored prefixes must equal cold prefills: dense, the three presets, and variants. */
    static List<KvCacheFactory> caches() {
        return List.of(DenseKvCache.FP32, DenseKvCache.FP16, KvCompression.high(), KvCompression.balanced(),
                KvCompression.max(),
                KvSpec.parse("k=e8:3,v=e8:2,evict=snapkv:0.5,window=32,block=32,wprec=f32,rot=on,center=kv"),
                KvSpec.parse("k=q4_0,v=q4_0,evict=snapkv:0.3,obs=16,kbal=on,window=16,block=16,wprec=f16"),
                // a prompt longer than the staging limit is compressed while it is prefilled
                KvCompression.balanced().toBuilder().stagingLimit(300).build());
    }

    /**
     * For every cache: a first prefill through an empty store stores the full chunks, a second one restores all but
     * the last token's chunk, and both give the cold prefill's logits, bit for bit, after the prompt and after five
     * greedy tokens (the compressed caches compress at the end of the prompt, after the restore).
     */
    @Test
    void restoredPrefixesGiveTheColdLogitsBitForBit(@TempDir Path dir) throws Exception {
        int[][] prompts = {prompt(1, 900), prompt(2, 1024), prompt(3, 257)};
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            for (KvCacheFactory f : caches()) {
                for (int[] p : prompts) {
                    String what = f.describe() + ", " + p.length + " tokens";
                    List<float[]> want = cold(model, f, p, 5);
                    PrefixStore.Prefilled first = ps.prefill(f, p);
                    assertEquals(0, first.stats().hits(), what);
                    assertEquals(p.length / 256, first.stats().stored(), what);
                    assertTrue(first.stats().problems().isEmpty(), first.stats().problems().toString());
                    try (var s = first.session()) {
                        assertSameLogits(want, continueGreedy(s, first.logits(), 5), what + ", first");
                    }
                    PrefixStore.Prefilled second = ps.prefill(f, p);
                    int restorable = (p.length - 1) / 256;
                    assertEquals(restorable, second.stats().hits(), what);
                    assertEquals(restorable * 256, second.stats().restoredTokens(), what);
                    assertEquals(p.length - restorable * 256, second.stats().prefilledTokens(), what);
                    assertTrue(second.stats().problems().isEmpty(), second.stats().problems().toString());
                    try (var s = second.session()) {
                        assertEquals(p.length, s.position());
                        assertSameLogits(want, continueGreedy(s, second.logits(), 5), what + ", restored");
                    }
                }
            }
        }
    }

    /** Two prompts that share a system prompt share its full chunks; the rest is prefilled and stored. */
    @Test
    void promptsSharingASystemPromptShareItsChunks(@TempDir Path dir) throws Exception {
        int[] system = prompt(10, 600); // chunks 0 and 1 lie inside it
        int[] a = concat(system, prompt(11, 300));
        int[] b = concat(system, prompt(12, 450));
        KvCacheFactory f = KvCompression.balanced();
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            PrefixStore.Prefilled pa = ps.prefill(f, a);
            pa.session().close();
            assertEquals(3, pa.stats().stored());
            PrefixStore.Prefilled pb = ps.prefill(f, b);
            assertEquals(2, pb.stats().hits());
            assertEquals(1, pb.stats().misses());
            assertEquals(2, pb.stats().stored()); // chunks 2 and 3 of b
            try (var s = pb.session()) {
                assertSameLogits(cold(model, f, b, 3), continueGreedy(s, pb.logits(), 3), "shared prefix");
            }
            // another cache setting shares nothing: its keys differ
            PrefixStore.Prefilled other = ps.prefill(KvCompression.high(), b);
            other.session().close();
            assertEquals(0, other.stats().hits());
        }
    }

    /**
     * Seeded damage to stored entries (bit flips, truncation, another entry's bytes): the damaged chunk is detected,
     * deleted and recomputed, the chunks before it are still used, and the logits are the cold ones.
     */
    @Test
    void damagedEntriesAreDetectedAndRecomputed(@TempDir Path dir) throws Exception {
        int[] p = prompt(20, 1100); // 4 restorable chunks
        KvCacheFactory f = KvCompression.high();
        List<float[]> want = cold(model, f, p, 2);
        SplittableRandom r = new SplittableRandom(42);
        try (DirectoryKvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            ps.prefill(f, p).session().close();
            String[] keys = new ChunkKeys(PrefixStore.identity(model), f.describe(), 256).keys(p, 4);
            for (int trial = 0; trial < 12; trial++) {
                int victim = r.nextInt(4);
                Path file = dir.resolve(keys[victim]);
                byte[] v = Files.readAllBytes(file);
                byte[] bad = switch (trial % 3) {
                    case 0 -> {
                        byte[] x = v.clone();
                        int bit = r.nextInt(x.length * 8);
                        x[bit >> 3] ^= (byte) (1 << (bit & 7));
                        yield x;
                    }
                    case 1 -> java.util.Arrays.copyOf(v, r.nextInt(v.length));
                    default -> Files.readAllBytes(dir.resolve(keys[(victim + 1) % 4])); // a whole, valid entry of another chunk
                };
                Files.write(file, bad);
                PrefixStore.Prefilled got = ps.prefill(f, p);
                assertEquals(victim, got.stats().hits(), "trial " + trial);
                assertFalse(got.stats().problems().isEmpty());
                assertTrue(got.stats().problems().getFirst().contains("cannot be used") || got.stats().problems().getFirst().contains("damaged"),
                        got.stats().problems().getFirst());
                try (var s = got.session()) {
                    assertSameLogits(want, continueGreedy(s, got.logits(), 2), "trial " + trial);
                }
                PrefixStore.Prefilled again = ps.prefill(f, p); // the chunk was stored again
                again.session().close();
                assertEquals(4, again.stats().hits(), "trial " + trial);
            }
        }
    }

    /** A cache whose prompt state depends on every query (H2O records attention during the prompt) is not restored. */
    @Test
    void aCacheThatCannotBeReplayedIsPrefilled(@TempDir Path dir) throws Exception {
        KvCacheFactory h2o = KvSpec.parse("k=e8:4,v=e8:3,evict=h2o:0.5,window=16,block=16,wprec=f16");
        int[] p = prompt(30, 700);
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            for (int i = 0; i < 2; i++) {
                PrefixStore.Prefilled got = ps.prefill(h2o, p);
                assertEquals(0, got.stats().hits());
                assertEquals(0, got.stats().stored());
                assertTrue(got.stats().problems().getFirst().contains("cannot be restored from chunks"));
                try (var s = got.session()) {
                    assertSameLogits(cold(model, h2o, p, 2), continueGreedy(s, got.logits(), 2), "h2o");
                }
            }
        }
    }

    /** A store nobody answers at: the prompt is prefilled, the problem is reported, nothing is thrown. */
    @Test
    void anUnreachableStoreFallsBackToPrefill() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        int[] p = prompt(40, 600);
        try (KvStore store = new RedisKvStore("127.0.0.1", port)) {
            PrefixStore.Prefilled got = new PrefixStore(model, store).prefill(DenseKvCache.FP32, p);
            assertEquals(0, got.stats().hits());
            assertEquals(0, got.stats().stored());
            assertTrue(got.stats().problems().getFirst().contains("unavailable"), got.stats().problems().getFirst());
            try (var s = got.session()) {
                assertSameLogits(cold(model, DenseKvCache.FP32, p, 1), continueGreedy(s, got.logits(), 1), "unreachable");
            }
        }
    }

    @Test
    void chunksMustLineUpWithBatches(@TempDir Path dir) throws Exception {
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            assertThrows(IllegalArgumentException.class, () -> new PrefixStore(model, store, 100, true));
            PrefixStore big = new PrefixStore(model, store, 512, false); // raw entries
            int[] p = prompt(50, 1100);
            big.prefill(KvCompression.balanced(), p).session().close();
            PrefixStore.Prefilled got = big.prefill(KvCompression.balanced(), p);
            assertEquals(2, got.stats().hits());
            try (var s = got.session()) {
                assertSameLogits(cold(model, KvCompression.balanced(), p, 2), continueGreedy(s, got.logits(), 2), "512");
            }
        }
    }

    /** A session prefilled through the store knows its tokens and saves like any other; the restored one continues alike. */
    @Test
    void aRestoredPrefixSessionSavesAndRestores(@TempDir Path dir) throws Exception {
        int[] p = prompt(70, 600);
        KvCacheFactory f = KvCompression.balanced();
        List<float[]> want = cold(model, f, p, 3);
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            ps.prefill(f, p).session().close();
            PrefixStore.Prefilled got = ps.prefill(f, p);
            assertEquals(2, got.stats().hits());
            byte[] saved;
            try (var s = got.session()) {
                assertArrayEquals(p, s.tokens());
                s.endOfPrompt();
                saved = s.toBytes();
            }
            try (var s = model.restore(saved)) {
                List<float[]> rest = continueGreedy(s, s.lastLogits(), 3);
                // continueGreedy ends the prompt again: a second end of prompt with nothing new is a no-op for the state
                assertSameLogits(want, rest, "saved and restored");
            }
        }
    }

    /** Two threads prefill prompts sharing a system prompt through one store at once: every result is the cold one. */
    @Test
    void concurrentPrefillsThroughOneStore(@TempDir Path dir) throws Exception {
        int[] system = prompt(80, 520);
        KvCacheFactory f = KvCompression.max();
        int[][] prompts = new int[6][];
        List<List<float[]>> want = new java.util.ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = concat(system, prompt(81 + i, 40 + 37 * i));
            want.add(cold(model, f, prompts[i], 1));
        }
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (KvStore store = new DirectoryKvStore(dir, 1L << 30)) {
            PrefixStore ps = new PrefixStore(model, store);
            List<java.util.concurrent.Future<Integer>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int first = t;
                done.add(pool.submit(() -> {
                    int hits = 0;
                    for (int i = first; i < prompts.length; i += 2) {
                        PrefixStore.Prefilled got = ps.prefill(f, prompts[i]);
                        hits += got.stats().hits();
                        assertTrue(got.stats().problems().isEmpty(), got.stats().problems().toString());
                        try (var s = got.session()) {
                            assertSameLogits(want.get(i), continueGreedy(s, got.logits(), 1), "prompt " + i);
                        }
                    }
                    return hits;
                }));
            }
            int hits = 0;
            for (var d : done) hits += d.get(10, java.util.concurrent.TimeUnit.MINUTES);
            assertTrue(hits >= 2 * (prompts.length - 2), "the system prompt's chunks were shared: " + hits + " hits");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void keysAreAHashChain() {
        ChunkKeys k = new ChunkKeys("m", "fp32", 4);
        int[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] b = {1, 2, 3, 4, 5, 6, 7, 0, 9};
        String[] ka = k.keys(a, 2), kb = k.keys(b, 2);
        assertEquals(ka[0], kb[0]);
        assertFalse(ka[1].equals(kb[1]));
        assertFalse(ka[0].equals(new ChunkKeys("m", "fp16", 4).keys(a, 1)[0]));
        assertFalse(ka[0].equals(new ChunkKeys("m2", "fp32", 4).keys(a, 1)[0]));
        int[] c = {5, 6, 7, 8, 1, 2, 3, 4};
        assertFalse(k.keys(c, 2)[1].equals(ka[0])); // a chunk's key depends on what precedes it
        assertThrows(IllegalArgumentException.class, () -> k.keys(a, 3));
        assertThrows(KvStoreException.class, () -> { throw new KvStoreException(KvStoreException.Kind.IO, "x"); });
    }
}
