package dev.nexusquant.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectoryKvStoreTest {

    @Test
    void getPutContainsDelete(@TempDir Path dir) throws Exception {
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 1 << 20)) {
            assertNull(s.get("k1"));
            assertFalse(s.contains("k1"));
            s.put("k1", new byte[]{1, 2, 3});
            assertTrue(s.contains("k1"));
            assertArrayEquals(new byte[]{1, 2, 3}, s.get("k1"));
            s.put("k1", new byte[0]);
            assertArrayEquals(new byte[0], s.get("k1"));
            assertTrue(s.delete("k1"));
            assertFalse(s.delete("k1"));
            assertNull(s.get("k1"));
        }
        // a second store on the same directory sees what the first wrote
        try (DirectoryKvStore a = new DirectoryKvStore(dir, 1 << 20); DirectoryKvStore b = new DirectoryKvStore(dir, 1 << 20)) {
            a.put("shared", new byte[]{9});
            assertArrayEquals(new byte[]{9}, b.get("shared"));
        }
    }

    /** Hostile keys are refused before any file is touched: nothing appears inside or outside the directory. */
    @Test
    void hostileKeysCannotEscape(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("store");
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 1 << 20)) {
            List<String> hostile = List.of("../escaped", "..", ".", "a/../../escaped", "/tmp/escaped", "sub/x", "..\\escaped",
                    ".tmp-x", ".hidden", "a\u0000b", "", "x".repeat(300), "%2e%2e%2fescaped", "~/escaped");
            for (String k : hostile) {
                assertThrows(IllegalArgumentException.class, () -> s.put(k, new byte[]{1}), k);
                assertThrows(IllegalArgumentException.class, () -> s.get(k), k);
                assertThrows(IllegalArgumentException.class, () -> s.contains(k), k);
                assertThrows(IllegalArgumentException.class, () -> s.delete(k), k);
            }
        }
        try (Stream<Path> all = Files.walk(tmp)) {
            assertEquals(List.of(tmp, dir), all.sorted().toList());
        }
    }

    /**
     * Seeded random puts and gets against a model of an LRU: after every operation the store holds exactly the keys
     * the model says (the most recently used that fit the cap) with their last values.
     */
    @Test
    void capEvictsLeastRecentlyUsed(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        long cap = 10_000;
        LinkedHashMap<String, byte[]> model = new LinkedHashMap<>(16, 0.75f, true); // access order
        try (DirectoryKvStore s = new DirectoryKvStore(dir, cap)) {
            for (int op = 0; op < 600; op++) {
                String k = "k" + r.nextInt(30);
                if (r.nextInt(3) == 0) {
                    byte[] got = s.get(k);
                    byte[] want = model.get(k);
                    if (want == null) assertNull(got, k); else assertArrayEquals(want, got, k);
                } else {
                    byte[] v = new byte[r.nextInt(1, 2500)];
                    r.nextBytes(v);
                    s.put(k, v);
                    model.remove(k);
                    model.put(k, v);
                    long total = 0;
                    for (byte[] x : model.values()) total += x.length;
                    var it = model.entrySet().iterator();
                    while (total > cap) {
                        var e = it.next();
                        total -= e.getValue().length;
                        it.remove();
                    }
                }
                assertEquals(new ArrayList<>(model.keySet()), s.keysByLastUse(), "after op " + op);
                assertTrue(s.bytes() <= cap);
            }
        }
    }

    @Test
    void aValueLargerThanTheCapIsRefusedAndChangesNothing(@TempDir Path dir) throws Exception {
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 100)) {
            s.put("a", new byte[60]);
            KvStoreException e = assertThrows(KvStoreException.class, () -> s.put("b", new byte[101]));
            assertTrue(e.getMessage().contains("larger than the cap"), e.getMessage());
            assertEquals(List.of("a"), s.keysByLastUse());
        }
    }

    /**
     * Atomic writes: while writers replace values, readers in other threads only ever see one of the whole values
     * written (never a mix or a prefix), and no temporary file is left behind.
     */
    @Test
    void readersSeeWholeValuesOnly(@TempDir Path dir) throws Exception {
        int versions = 6;
        byte[][] values = new byte[versions][];
        SplittableRandom r = new SplittableRandom(99);
        for (int i = 0; i < versions; i++) {
            values[i] = new byte[r.nextInt(50_000, 300_000)];
            Arrays.fill(values[i], (byte) (i + 1));
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (DirectoryKvStore writer = new DirectoryKvStore(dir, 1L << 30); DirectoryKvStore reader = new DirectoryKvStore(dir, 1L << 30)) {
            writer.put("v", values[0]);
            Future<?> w = pool.submit(() -> {
                for (int i = 0; i < 300; i++) writer.put("v", values[i % versions]);
                return null;
            });
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                readers.add(pool.submit(() -> {
                    int seen = 0;
                    for (int i = 0; i < 300; i++) {
                        byte[] got = reader.get("v");
                        boolean whole = false;
                        for (byte[] v : values) whole |= Arrays.equals(v, got);
                        assertTrue(whole, "a reader saw a value that was never written whole (" + got.length + " bytes)");
                        seen++;
                    }
                    return seen;
                }));
            }
            w.get(5, TimeUnit.MINUTES);
            for (Future<Integer> f : readers) assertEquals(300, f.get(5, TimeUnit.MINUTES));
        } finally {
            pool.shutdownNow();
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("v"), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** A temporary file left by a crash is never read as an entry, and is removed once stale. */
    @Test
    void strayTemporaryFilesAreIgnoredThenRemoved(@TempDir Path dir) throws Exception {
        Path fresh = dir.resolve(DirectoryKvStore.TEMP_PREFIX + "fresh");
        Path stale = dir.resolve(DirectoryKvStore.TEMP_PREFIX + "stale");
        Files.write(fresh, new byte[5000]);
        Files.write(stale, new byte[5000]);
        Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 2 * DirectoryKvStore.STALE_TEMP_MILLIS));
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 1000)) {
            assertFalse(Files.exists(stale));
            assertTrue(Files.exists(fresh)); // possibly another process's write in progress
            assertEquals(List.of(), s.keysByLastUse());
            assertEquals(0, s.bytes());
            s.put("a", new byte[900]); // the temporary file does not count against the cap
            assertEquals(List.of("a"), s.keysByLastUse());
        }
    }

    @Test
    void unwritableDirectoryIsUnavailable(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("not-a-dir");
        Files.write(f, new byte[1]);
        KvStoreException e = assertThrows(KvStoreException.class, () -> new DirectoryKvStore(f.resolve("sub"), 100));
        assertEquals(KvStoreException.Kind.UNAVAILABLE, e.kind());
        assertThrows(IllegalArgumentException.class, () -> new DirectoryKvStore(tmp, 0));
    }

    /** Many keys, seeded values, read back after reopening. */
    @Test
    void survivesReopen(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        Map<String, byte[]> want = new HashMap<>();
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 1 << 24)) {
            for (int i = 0; i < 200; i++) {
                byte[] v = new byte[r.nextInt(0, 4000)];
                r.nextBytes(v);
                want.put("key-" + i, v);
                s.put("key-" + i, v);
            }
        }
        try (DirectoryKvStore s = new DirectoryKvStore(dir, 1 << 24)) {
            for (var e : want.entrySet()) assertArrayEquals(e.getValue(), s.get(e.getKey()));
        }
    }
}
