package dev.nexusquant.engine.model;

import dev.nexusquant.codec.state.StateContainer;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Saving and restoring with the engine alone (the dense cache; no nq-kv on the class path). Bit-exactness for every
 * cache is checked in nq-kv's scalar execution; here the restored session continues within float rounding of the
 * vector kernels (which may change in the last bit between JIT tiers).
 */
class SessionSaveTest {

    @TempDir
    static Path dir;
    static Model model;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(RandomModel.llama(4, 2, 32, GgmlType.F32).layers(2).vocab(400).context(512).write(dir));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] tokens(int n) {
        Random r = new Random(3);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + r.nextInt(397);
        return t;
    }

    @Test
    void aDenseSessionSavesAndContinues() throws Exception {
        int[] t = tokens(60);
        for (DenseKvCache.Precision p : DenseKvCache.Precision.values()) {
            try (Session s = model.newSession(DenseKvCache.factory(p))) {
                float[] last = s.forward(t, 0, 50, false);
                s.endOfPrompt();
                Path file = dir.resolve("dense-" + p + ".nqs");
                long n = s.save(file);
                assertEquals(Files.size(file), n);
                try (var files = Files.list(dir)) {
                    assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
                }
                try (Session r = model.restore(file)) {
                    assertArrayEquals(Arrays.copyOf(t, 50), r.tokens());
                    assertArrayEquals(last, r.lastLogits());
                    assertEquals(s.kvCache().stats(), r.kvCache().stats());
                    assertEquals(p.name().toLowerCase(java.util.Locale.ROOT), Model.peek(file).cacheSettings());
                    float[] a = s.forward(t, 50, 10, true), b = r.forward(t, 50, 10, true);
                    double d = 0, m = 0;
                    for (int i = 0; i < a.length; i++) {
                        d = Math.max(d, Math.abs(a[i] - b[i]));
                        m = Math.max(m, Math.abs(a[i]));
                    }
                    assertTrue(d <= 1e-5 * m, p + ": max |logit difference| " + d);
                    assertArrayEquals(Arrays.copyOf(t, 60), r.tokens());
                }
            }
        }
    }

    @Test
    void aDirectoryIsNamedAndAHeaderPrintsItsTokenCount() throws Exception {
        // before: restore(dir) and peek(dir) failed with "Is a directory", naming no path, and a header printed its
        // tokens as the array's identity ("tokens=[I@4f933fd1")
        for (var call : java.util.List.<org.junit.jupiter.api.function.Executable>of(() -> model.restore(dir), () -> Model.peek(dir))) {
            var e = assertThrows(java.nio.file.FileSystemException.class, call);
            assertEquals(dir + ": is a directory, not a saved session", e.getMessage());
        }
        Path file = dir.resolve("header.nqs");
        try (Session s = model.newSession()) {
            int[] t = tokens(7);
            s.forward(t, 0, t.length, false);
            s.save(file);
        }
        String header = Model.peek(file).toString();
        assertTrue(header.endsWith(", tokens=7]") && header.contains("cacheType=dense"), header);
    }

    @Test
    void withoutItsReaderACacheTypeIsAnUnknownTypeNamingTheModule() throws Exception {
        byte[] saved;
        try (Session s = model.newSession()) {
            s.forward(tokens(8), 0, 8, false);
            saved = s.toBytes();
        }
        StateContainer.Contents c = StateContainer.read(saved, 1 << 30);
        byte[] header = c.header();
        byte[] dense = "dense".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int at = -1;
        for (int i = 0; i + 5 <= header.length && at < 0; i++) {
            if (Arrays.equals(Arrays.copyOfRange(header, i, i + 5), dense)) at = i;
        }
        byte[] other = header.clone();
        System.arraycopy("nexus".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, other, at, 5);
        SessionRestoreException e = assertThrows(SessionRestoreException.class,
                () -> model.restore(StateContainer.toBytes(other, c.payload(), true)));
        assertEquals(SessionRestoreException.Kind.UNKNOWN_CACHE_TYPE, e.kind());
        assertTrue(e.getMessage().contains("nq-kv"), e.getMessage());
    }

    @Test
    void aSessionOverAFilledCacheKnowsItsTokensOnlyWhenTold() throws Exception {
        int[] t = tokens(20);
        KvCache cache;
        try (Session s = model.newSession(DenseKvCache.FP32.create(model.kvLayout()))) {
            s.forward(t, 0, 20, false);
            cache = s.kvCache();
            Session over = model.newSession(cache);
            assertEquals(20, over.position());
            assertThrows(IllegalStateException.class, over::tokens);
            assertThrows(IllegalStateException.class, over::toBytes);
            Session told = model.newSession(cache, t);
            assertArrayEquals(t, told.tokens());
            try (Session r = model.restore(told.toBytes())) {
                assertArrayEquals(t, r.tokens());
                assertEquals(null, r.lastLogits());
            }
        }
    }

    @Test
    void theIdentityNamesTheModelAndDiffersForOtherWeights() throws Exception {
        ModelIdentity a = model.identity();
        assertEquals(a, ModelIdentity.of(model.config(), model.gguf()));
        try (Model other = Model.load(RandomModel.llama(4, 2, 32, GgmlType.F32).layers(2).vocab(400).context(512).seed(5)
                .write(Files.createDirectories(dir.resolve("other"))))) {
            String diff = a.differences(other.identity());
            assertTrue(diff.startsWith("weights hash"), diff);
        }
    }
}
