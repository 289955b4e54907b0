package dev.nexusquant.kv.state;

import dev.nexusquant.codec.state.StateContainer;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.SavedSession;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.model.SessionRestoreException;
import dev.nexusquant.engine.model.SessionRestoreException.Kind;
import dev.nexusquant.engine.testing.RandomModel;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.kv.Quality;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged, hostile and foreign saved sessions end in a {@link SessionRestoreException} of the right kind, never in
 * another exception, an OutOfMemoryError or a wrong session. Seeded (the seed is printed; {@code -Dnq.test.seed=S}
 * replays a run): thousands of truncations, bit flips, overwrites, insertions and deletions of valid files, and
 * thousands of hostile files whose header or payload was mutated and wrapped again with valid checksums, so that
 * the checks behind the checksums are exercised too.
 */
class SaveRestoreCorruptionTest {

    @TempDir
    static Path dir;
    static Model model;
    static final List<byte[]> saved = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(RandomModel.llama(4, 2, 32, GgmlType.F32).layers(2).context(512).vocab(400).write(dir));
        KvCacheFactory[] factories = {DenseKvCache.FP32, DenseKvCache.FP16, Quality.HIGH.config(), Quality.BALANCED.config(),
                Quality.MAX.config(), KvSpec.parse("k=kivi2,v=q4_0,evict=h2o:0.5,window=8,block=8,age=24,ak=e8:1,av=e8:1")};
        for (KvCacheFactory f : factories) {
            Script script = new Script(400, 5, 60, 20, 20, 6);
            try (Session s = model.newSession(f)) {
                for (int i = 0; i < script.steps.size(); i++) {
                    if (i == 1 || i == 12 || i == script.steps.size() - 1) saved.add(s.toBytes());
                    script.run(s, i);
                }
            }
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static long seed(String test) {
        String fixed = System.getProperty("nq.test.seed");
        long seed = fixed != null && !fixed.isBlank() ? Long.parseLong(fixed.trim()) : System.nanoTime();
        System.out.println(test + ": seed=" + seed + " (replay with -Dnq.test.seed=" + seed + ")");
        return seed;
    }

    @Test
    void everyValidFileRestores() throws Exception {
        for (byte[] b : saved) {
            try (Session s = model.restore(b)) {
                assertEquals(Model.peek(b).tokens().length, s.position());
            }
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void damagedFilesEndInATypedError() {
        long seed = seed("damagedFilesEndInATypedError");
        SplittableRandom rnd = new SplittableRandom(seed);
        TreeMap<String, int[]> outcomes = new TreeMap<>();
        int cases = 4000;
        for (int m = 0; m < cases; m++) {
            byte[] base = saved.get(rnd.nextInt(saved.size()));
            int kind = rnd.nextInt(6);
            byte[] bad = mutate(rnd, base, kind);
            if (Arrays.equals(bad, base)) continue;
            String what = "mutation " + m + " kind " + kind + " seed=" + seed;
            try (Session s = model.restore(bad)) {
                throw new AssertionError(what + ": a damaged file was restored (" + s.position() + " tokens)");
            } catch (SessionRestoreException e) {
                outcomes.computeIfAbsent("k" + kind + " " + e.kind(), k -> new int[1])[0]++;
                if (kind == 0) assertEquals(Kind.TRUNCATED, e.kind(), what + ": " + e.getMessage());
            } catch (Throwable t) {
                throw new AssertionError(what + ": " + t, t);
            }
        }
        outcomes.forEach((k, v) -> System.out.println("  " + v[0] + "\t" + k));
    }

    /** Truncation (0), bit flip (1), byte overwrite (2), insertion (3), deletion (4), a run of random bytes (5). */
    static byte[] mutate(SplittableRandom rnd, byte[] b, int kind) {
        switch (kind) {
            case 0 -> {
                return Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 1 -> {
                byte[] c = b.clone();
                int at = rnd.nextInt(c.length);
                c[at] ^= (byte) (1 << rnd.nextInt(8));
                return c;
            }
            case 2 -> {
                byte[] c = b.clone();
                // bias towards the header and lengths, where the structure is
                int at = rnd.nextInt(4) == 0 ? rnd.nextInt(c.length) : rnd.nextInt(Math.min(c.length, 4096));
                c[at] = (byte) rnd.nextInt(256);
                return c;
            }
            case 3 -> {
                int at = rnd.nextInt(b.length + 1);
                byte[] c = new byte[b.length + 1];
                System.arraycopy(b, 0, c, 0, at);
                c[at] = (byte) rnd.nextInt(256);
                System.arraycopy(b, at, c, at + 1, b.length - at);
                return c;
            }
            case 4 -> {
                int at = rnd.nextInt(b.length);
                byte[] c = new byte[b.length - 1];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + 1, c, at, b.length - at - 1);
                return c;
            }
            default -> {
                byte[] c = b.clone();
                int len = 1 + rnd.nextInt(16);
                int at = rnd.nextInt(Math.max(1, c.length - len));
                for (int i = at; i < Math.min(c.length, at + len); i++) c[i] = (byte) rnd.nextInt(256);
                return c;
            }
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void hostileFilesWithValidChecksumsEndInATypedErrorOrAConsistentSession() throws Exception {
        long seed = seed("hostileFilesWithValidChecksums");
        SplittableRandom rnd = new SplittableRandom(seed);
        TreeMap<String, int[]> outcomes = new TreeMap<>();
        int cases = 3000;
        for (int m = 0; m < cases; m++) {
            byte[] base = saved.get(rnd.nextInt(saved.size()));
            StateContainer.Contents c = StateContainer.read(base, 1 << 30);
            boolean header = rnd.nextInt(4) == 0;
            byte[] part = header ? c.header() : c.payload();
            int kind = 1 + rnd.nextInt(5); // no truncation of the whole: of the part
            byte[] bad = rnd.nextInt(5) == 0 ? Arrays.copyOf(part, rnd.nextInt(part.length)) : mutate(rnd, part, kind);
            byte[] file = header ? StateContainer.toBytes(bad, c.payload(), true) : StateContainer.toBytes(c.header(), bad, rnd.nextBoolean());
            String what = "hostile " + m + (header ? " header" : " payload") + " kind " + kind + " seed=" + seed;
            String outcome;
            try (Session s = model.restore(file)) {
                // accepted (a float or a token id changed): a complete session whose cache agrees with its tokens,
                // which saves again and runs on
                assertEquals(s.position(), s.tokens().length, what);
                assertEquals(s.position(), s.kvCache().tokensSeen(), what);
                s.toBytes();
                s.forward(new int[]{5, 6}, 0, 2, false); // and runs on
                outcome = "accepted";
            } catch (SessionRestoreException e) {
                outcome = e.kind().name();
            } catch (Throwable t) {
                throw new AssertionError(what + ": " + t, t);
            }
            outcomes.computeIfAbsent((header ? "header " : "payload ") + outcome, k -> new int[1])[0]++;
        }
        outcomes.forEach((k, v) -> System.out.println("  " + v[0] + "\t" + k));
    }

    @Test
    void hugeLengthsAreRefusedBeforeAnythingIsAllocated() throws Exception {
        byte[] base = saved.get(0);
        StateContainer.Contents c = StateContainer.read(base, 1 << 30);
        // a payload that claims 2^62 bytes, with correct CRCs: TOO_LARGE, no allocation
        byte[] file = StateContainer.toBytes(c.header(), c.payload(), false);
        int lengthsAt = 12 + c.header().length + 4;
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bb.putLong(lengthsAt, 1L << 62);
        bb.putLong(lengthsAt + 8, 1L << 62);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(file, lengthsAt, 24);
        bb.putInt(lengthsAt + 24, (int) crc.getValue());
        SessionRestoreException e = assertThrows(SessionRestoreException.class, () -> model.restore(file));
        assertEquals(Kind.TOO_LARGE, e.kind(), e.getMessage());
        // a stream that claims a large payload but ends: TRUNCATED, and the reader grew its buffer only as bytes came
        bb.putLong(lengthsAt, 900L << 20);
        bb.putLong(lengthsAt + 8, 900L << 20);
        crc.reset();
        crc.update(file, lengthsAt, 24);
        bb.putInt(lengthsAt + 24, (int) crc.getValue());
        e = assertThrows(SessionRestoreException.class, () -> model.restore(new ByteArrayInputStream(file)));
        assertTrue(e.kind() == Kind.TRUNCATED || e.kind() == Kind.TOO_LARGE, e.getMessage());
    }

    @Test
    void foreignModelsAreRefusedNamingWhatDiffers() throws Exception {
        byte[] b = saved.get(3);
        // the same shapes, other weights
        try (Model other = Model.load(RandomModel.llama(4, 2, 32, GgmlType.F32).layers(2).context(512).vocab(400).seed(99).write(dir))) {
            SessionRestoreException e = assertThrows(SessionRestoreException.class, () -> other.restore(b));
            assertEquals(Kind.FOREIGN_MODEL, e.kind());
            assertTrue(e.getMessage().contains("weights hash"), e.getMessage());
            assertFalse(e.getMessage().contains("layers"), e.getMessage());
        }
        // other shapes
        Path three = Files.createDirectories(dir.resolve("three"));
        try (Model other = Model.load(RandomModel.llama(4, 2, 32, GgmlType.F32).layers(3).context(512).vocab(400).write(three))) {
            SessionRestoreException e = assertThrows(SessionRestoreException.class, () -> other.restore(b));
            assertEquals(Kind.FOREIGN_MODEL, e.kind());
            assertTrue(e.getMessage().contains("layers 2 vs 3"), e.getMessage());
        }
    }

    @Test
    void otherFilesAndVersionsAndCacheTypesHaveTheirOwnKinds() throws Exception {
        Path gguf = dir.resolve("not-a-session.gguf");
        Files.write(gguf, RandomModel.llama(4, 2, 32, GgmlType.F32).layers(1).vocab(400).bytes());
        SessionRestoreException e = assertThrows(SessionRestoreException.class, () -> model.restore(gguf));
        assertEquals(Kind.CORRUPT, e.kind());
        assertTrue(e.getMessage().contains("not a saved NexusQuant session"), e.getMessage());
        assertEquals(Kind.TRUNCATED, assertThrows(SessionRestoreException.class, () -> model.restore(new byte[0])).kind());

        byte[] b = saved.get(4).clone();
        b[4] = 2; // container version 2, CRC no longer matching: the version is what is reported
        assertEquals(Kind.UNSUPPORTED_VERSION, assertThrows(SessionRestoreException.class, () -> model.restore(b)).kind());

        StateContainer.Contents c = StateContainer.read(saved.get(4), 1 << 30);
        SavedSession info = Model.peek(saved.get(4));
        byte[] header = c.header();
        byte[] type = info.cacheType().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int at = indexOf(header, type);
        byte[] martian = header.clone();
        martian[at] = 'X';
        e = assertThrows(SessionRestoreException.class, () -> model.restore(StateContainer.toBytes(martian, c.payload(), true)));
        assertEquals(Kind.UNKNOWN_CACHE_TYPE, e.kind());
        assertTrue(e.getMessage().contains("known: dense, nexusquant"), e.getMessage());

        byte[] payload = c.payload().clone();
        payload[0] = 9; // payload version
        e = assertThrows(SessionRestoreException.class, () -> model.restore(StateContainer.toBytes(c.header(), payload, true)));
        assertEquals(Kind.UNSUPPORTED_VERSION, e.kind());
    }

    @Test
    void aCodecOfAnotherVersionIsRefusedNamingIt() throws Exception {
        byte[] b = saved.get(10); // BALANCED, mid-generation: E8 segments
        StateContainer.Contents c = StateContainer.read(b, 1 << 30);
        byte[] payload = c.payload().clone();
        // the codec table's first E8 descriptor: name (varint length 2, "e8"), then its format version
        int at = indexOf(payload, new byte[]{2, 'e', '8'}) + 3;
        payload[at]++;
        SessionRestoreException e = assertThrows(SessionRestoreException.class,
                () -> model.restore(StateContainer.toBytes(c.header(), payload, true)));
        assertEquals(Kind.UNSUPPORTED_VERSION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("e8 v"), e.getMessage());
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    @Test
    void peekReadsTheHeaderAlone() throws Exception {
        byte[] b = saved.get(5);
        SavedSession info = Model.peek(b);
        assertEquals(model.identity(), info.model());
        try (Session s = model.restore(b)) {
            assertArrayEquals(s.tokens(), info.tokens());
            assertEquals(s.kvCache().settings(), info.cacheSettings());
            assertTrue(info.isPrefixOf(Arrays.copyOf(s.tokens(), s.tokens().length + 3)));
        }
        // the header is readable even when the payload is damaged
        byte[] damaged = b.clone();
        damaged[damaged.length - 1] ^= 1;
        assertArrayEquals(info.tokens(), Model.peek(damaged).tokens());
        assertThrows(SessionRestoreException.class, () -> model.restore(damaged));
    }
}
