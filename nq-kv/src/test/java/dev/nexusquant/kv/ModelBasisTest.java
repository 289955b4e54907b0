package dev.nexusquant.kv;

import dev.nexusquant.codec.klt.KltBasis;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.model.SessionRestoreException;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-model KLT bases: fitted from sampled text, written and read back, used by caches, saved and restored. */
class ModelBasisTest {

    @TempDir
    static Path dir;
    static Model model;
    static Path basis;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(RandomModel.llama(4, 2, 128, GgmlType.F32).layers(2).context(512).vocab(512).write(dir));
        basis = dir.resolve("model.klt");
        ModelBasis.fit(model, 200, 3, true).write(basis);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void autoBasisIsFittedOnceIntoTheCacheAndThenRead() throws Exception {
        Path cacheDir = dir.resolve("klt-cache");
        String before = System.getProperty("nq.klt.cache");
        System.setProperty("nq.klt.cache", cacheDir.toString());
        try {
            KvCompression auto = KvSpec.parse("balanced,keys=pre,rot=klt,basis=auto");
            // from the bare layout (no model): the Hadamard rotation instead, said in its stats (BasisFallbackTest)
            assertEquals(BasisFallback.NOTE, auto.create(model.kvLayout()).stats().note());
            KvCompression resolved = auto.forModel(model);
            Path file = ModelBasisCache.fileFor(model, true);
            assertEquals(file.toString(), resolved.kltBasisFile());
            assertEquals("auto", resolved.kltBasis());
            assertEquals(KvSpec.format(auto), KvSpec.format(resolved), "the spec keeps basis=auto, not the machine's path");
            assertTrue(Files.isRegularFile(file) && file.startsWith(cacheDir), file.toString());
            long modified = Files.getLastModifiedTime(file).toMillis();
            ModelBasis b = ModelBasis.load(file.toString());
            assertEquals(Math.min(ModelBasisCache.TOKENS, model.kvLayout().contextLength()), b.tokens());
            assertTrue(b.preRope());
            // the same bases a direct fit gives (same tokens and seed)
            ModelBasis direct = ModelBasis.fit(model, b.tokens(), ModelBasisCache.SEED, true);
            assertArrayEquals(direct.keys(1, 1).stored(), b.keys(1, 1).stored());
            // a second resolution reads the file: not fitted again
            assertEquals(file.toString(), auto.forModel(model).kltBasisFile());
            assertEquals(modified, Files.getLastModifiedTime(file).toMillis());
            assertTrue(resolved.forModel(model) == resolved, "resolving again changes nothing");
            assertEquals(file.toString(), resolved.withMemoryBudget(64L << 20).kltBasisFile(), "a budget keeps the resolution");
            assertEquals(null, resolved.toBuilder().kltBasis(basis.toString()).build().kltBasisFile(), "another basis drops it");
            // keys=post has a file of its own; settings without basis=auto are left as they are
            assertTrue(KvSpec.parse("k=e8:2,rot=klt,basis=auto").forModel(model).kltBasisFile().endsWith("-post.klt"));
            KvCompression plain = KvSpec.parse("balanced");
            assertTrue(plain.forModel(model) == plain);
            try (Session s = model.newSession(resolved)) {
                s.forward(new int[]{1, 5, 9, 13, 2, 7, 3, 11}, 0, 8, false);
            }
            // every way in resolves it: a session opened with the unresolved settings, the model's default factory,
            // the drop-in block with a memory budget
            try (Session s = model.newSession(auto)) {
                assertTrue(((CompressedKvCache) s.kvCache()).sharedBasis() == b);
                assertEquals("", s.kvCache().stats().note(), "with a model the bases are used: nothing to note");
            }
            var previous = model.setKvCacheFactory(auto);
            try (Session s = model.newSession()) {
                assertTrue(((CompressedKvCache) s.kvCache()).sharedBasis() == b);
            } finally {
                model.setKvCacheFactory(previous);
            }
            try (NexusQuant nq = NexusQuant.compress(model, auto.withMemoryBudget(64L << 20))) {
                assertEquals(file.toString(), nq.config().kltBasisFile());
                assertEquals(64L << 20, nq.config().memoryBudget());
                try (Session s = model.newSession()) {
                    s.forward(new int[]{1, 5, 9, 13}, 0, 4, false);
                    assertTrue(((CompressedKvCache) s.kvCache()).sharedBasis() == b);
                }
            }
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    /** A saved basis=auto session: its spec says auto; the restore finds (or fits) the model's bases and checks them. */
    @Test
    void autoBasisSessionRestoresWhereverTheBasesAreTheSameAndRefusesOthers() throws Exception {
        String before = System.getProperty("nq.klt.cache");
        try {
            System.setProperty("nq.klt.cache", dir.resolve("restore-a").toString());
            KvCompression auto = KvSpec.parse("k=e8:2,v=e8:2,rot=klt,keys=pre,center=kv,window=8,block=8,wprec=f16,basis=auto");
            int[] prompt = new int[120];
            for (int i = 0; i < prompt.length; i++) prompt[i] = 3 + (i * 53) % 400;
            int[] next = {7, 9, 11};
            byte[] saved;
            float[][] expected = new float[next.length][];
            try (Session s = model.newSession(auto)) {
                s.forward(prompt, 0, prompt.length, false);
                s.endOfPrompt();
                assertTrue(s.kvCache().settings().contains("basis=auto"), s.kvCache().settings());
                saved = s.toBytes();
                for (int i = 0; i < next.length; i++) expected[i] = s.forward(new int[]{next[i]}, 0, 1, false);
            }
            // same machine: the cached bases
            try (Session r = model.restore(saved)) {
                for (int i = 0; i < next.length; i++) assertArrayEquals(expected[i], r.forward(new int[]{next[i]}, 0, 1, false));
            }
            // another machine (an empty basis cache): the restore fits the same bases and goes on bit for bit
            Path other = dir.resolve("restore-b");
            System.setProperty("nq.klt.cache", other.toString());
            try (Session r = model.restore(saved)) {
                assertTrue(Files.isRegularFile(ModelBasisCache.fileFor(model, true)), "fitted on restore");
                for (int i = 0; i < next.length; i++) assertArrayEquals(expected[i], r.forward(new int[]{next[i]}, 0, 1, false));
            }
            // a machine whose bases for this model differ (fitted by another build): refused, naming both
            Path foreign = dir.resolve("restore-c");
            System.setProperty("nq.klt.cache", foreign.toString());
            Files.createDirectories(foreign);
            ModelBasis.fit(model, 150, 99, true).write(ModelBasisCache.fileFor(model, true));
            long mine = ModelBasis.load(ModelBasisCache.fileFor(model, true).toString()).fingerprint();
            long theirs = ModelBasis.load(ModelBasisCache.fileFor(model, true).toString().replace("restore-c", "restore-a")).fingerprint();
            assertTrue(mine != theirs);
            var e = assertThrows(SessionRestoreException.class, () -> model.restore(saved));
            assertEquals(SessionRestoreException.Kind.FOREIGN_BASIS, e.kind());
            assertTrue(e.getMessage().contains(String.format("%016x", mine)) && e.getMessage().contains(String.format("%016x", theirs)),
                    e.getMessage());
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    /**
     * A session whose cache fell back to the Hadamard rotation (made from the bare layout, never resolved) restores as
     * it ran, though the reader has the model and resolves basis=auto; a state coded with the model's bases cannot be
     * read without the model (typed, saying why).
     */
    @Test
    void aFallbackSessionRestoresAsItRanAndModelBasesNeedTheModel() throws Exception {
        String before = System.getProperty("nq.klt.cache");
        try {
            System.setProperty("nq.klt.cache", dir.resolve("fallback").toString());
            KvCompression auto = KvSpec.parse("k=e8:2,v=e8:2,rot=klt,keys=pre,center=kv,window=8,block=8,wprec=f16,basis=auto");
            dev.nexusquant.engine.kv.KvCacheFactory bare = auto::create; // a factory that never resolves for a model
            int[] prompt = new int[120];
            for (int i = 0; i < prompt.length; i++) prompt[i] = 3 + (i * 37) % 400;
            int[] next = {5, 8, 13};
            byte[] saved;
            float[][] expected = new float[next.length][];
            try (Session s = model.newSession(bare)) {
                s.forward(prompt, 0, prompt.length, false);
                s.endOfPrompt();
                assertEquals(BasisFallback.NOTE, s.kvCache().stats().note());
                saved = s.toBytes();
                for (int i = 0; i < next.length; i++) expected[i] = s.forward(new int[]{next[i]}, 0, 1, false);
            }
            try (Session r = model.restore(saved)) {
                assertEquals(BasisFallback.NOTE, r.kvCache().stats().note(), "restored as it was coded");
                assertTrue(r.kvCache().settings().contains("basis=auto"), r.kvCache().settings());
                for (int i = 0; i < next.length; i++) assertArrayEquals(expected[i], r.forward(new int[]{next[i]}, 0, 1, false));
            }
            try (Session s = model.newSession(auto)) {
                s.forward(prompt, 0, prompt.length, false);
                s.endOfPrompt();
                var out = new dev.nexusquant.codec.state.StateOutput();
                s.kvCache().writeState(out);
                String settings = s.kvCache().settings();
                var e = assertThrows(dev.nexusquant.codec.state.StateFormatException.class, () -> CacheState.read(
                        model.kvLayout(), settings, new dev.nexusquant.codec.state.StateInput(out.toByteArray(), Long.MAX_VALUE)));
                assertEquals(dev.nexusquant.codec.state.StateFormatException.Problem.FOREIGN_SHARED_DATA, e.problem());
                assertTrue(e.getMessage().contains("basis=auto") && e.getMessage().contains("Model.restore"), e.getMessage());
            }
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    /** Two threads asking for a model's bases at once get one fit and the same file. */
    @Test
    void concurrentResolutionsFitOnce() throws Exception {
        String before = System.getProperty("nq.klt.cache");
        try {
            Path cacheDir = dir.resolve("concurrent");
            System.setProperty("nq.klt.cache", cacheDir.toString());
            var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                var a = pool.submit(() -> ModelBasisCache.resolve(model, false));
                var b = pool.submit(() -> ModelBasisCache.resolve(model, false));
                assertEquals(a.get(), b.get());
            } finally {
                pool.shutdown();
            }
            try (var files = Files.list(cacheDir)) {
                // the bases and the lock file; no temporary file left behind
                assertEquals(java.util.List.of(".klt", ".klt.lock"),
                        files.map(p -> p.getFileName().toString()).map(n -> n.substring(n.indexOf(".klt"))).sorted().toList());
            }
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    /**
     * The heads' bases are fitted in parallel: each is the basis fitted on its own from that head's rows (keys with
     * RoPE undone at their positions, values as they are, both centred), whatever thread fitted it.
     */
    @Test
    void basesFittedInParallelAreEachHeadsOwnFit() {
        var layout = model.kvLayout();
        int tokens = 160, dim = layout.headDim(), kvDim = layout.kvDim();
        ModelBasis.Rows rows = ModelBasis.sample(model, tokens, 11);
        ModelBasis b = ModelBasis.fit(layout, rows, 11, true);
        PositionalRotation rope = Transforms.rope(layout);
        for (int l = 0; l < layout.layers(); l++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                for (int kv = 0; kv < 2; kv++) {
                    float[] x = new float[tokens * dim];
                    double[] mean = new double[dim];
                    for (int i = 0; i < tokens; i++) {
                        System.arraycopy((kv == 0 ? rows.keys : rows.values)[l], i * kvDim + h * dim, x, i * dim, dim);
                        if (kv == 0) rope.inverse(x, i * dim, i);
                        for (int j = 0; j < dim; j++) mean[j] += x[i * dim + j];
                    }
                    for (int i = 0; i < tokens; i++) for (int j = 0; j < dim; j++) x[i * dim + j] -= (float) (mean[j] / tokens);
                    KltBasis want = KltBasis.fit(x, tokens, dim, 0, 0);
                    KltBasis got = kv == 0 ? b.keys(l, h) : b.values(l, h);
                    String what = "layer " + l + " head " + h + (kv == 0 ? " keys" : " values");
                    assertArrayEquals(want.stored(), got.stored(), what);
                    assertArrayEquals(want.sigmas(), got.sigmas(), what);
                }
            }
        }
        // and the whole fit is the one-call fit of the same model and seed
        ModelBasis once = ModelBasis.fit(model, tokens, 11, true);
        assertArrayEquals(once.keys(1, 1).stored(), b.keys(1, 1).stored());
    }

    @Test
    void fileRoundTripsAndChecksItsShape() throws Exception {
        ModelBasis b = ModelBasis.fit(model, 120, 5, false);
        assertEquals(2, b.layers());
        assertEquals(model.kvLayout().headDim(), b.headDim());
        assertTrue(b.keys(1, 1).rank() > 0 && b.keys(0, 0).rank() > 0); // (this random model's sampled tokens repeat: its layer-0 values may be constant)
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        b.write(out);
        ModelBasis r = ModelBasis.read(new ByteArrayInputStream(out.toByteArray()));
        assertEquals(b.bytes(), r.bytes());
        assertArrayEquals(b.keys(1, 0).stored(), r.keys(1, 0).stored());
        assertArrayEquals(b.values(0, 1).sigmas(), r.values(0, 1).sigmas());
        byte[] bytes = out.toByteArray();
        var e = assertThrows(IOException.class, () -> ModelBasis.read(new ByteArrayInputStream(java.util.Arrays.copyOf(bytes, bytes.length - 3))));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        bytes[0] = 'X';
        e = assertThrows(IOException.class, () -> ModelBasis.read(new ByteArrayInputStream(bytes)));
        assertTrue(e.getMessage().contains("not a KLT basis"), e.getMessage());
        // a basis for keys with RoPE undone does not serve keys=post
        var w = assertThrows(IllegalArgumentException.class,
                () -> KvSpec.parse("k=e8:2,v=e8:2,rot=klt,keys=post,basis=" + basis).create(model.kvLayout()));
        assertTrue(w.getMessage().contains("keys=pre"), w.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("k=e8:2,basis=" + basis));
        assertTrue(m.getMessage().contains("rot=klt"), m.getMessage());
        var missing = assertThrows(IllegalArgumentException.class,
                () -> KvSpec.parse("k=e8:2,rot=klt,keys=pre,basis=" + dir.resolve("none.klt")).create(model.kvLayout()));
        assertTrue(missing.getMessage().contains("none.klt"), missing.getMessage());
    }

    @Test
    void aCacheWithTheSharedBasisDoesNotCountItAndRestoresBitForBit() throws Exception {
        String spec = "k=e8:2,v=e8:2,rot=klt,keys=pre,center=kv,window=8,block=8,wprec=f16,basis=" + basis;
        KvCompression cfg = KvSpec.parse(spec);
        assertEquals(cfg, KvSpec.parse(KvSpec.format(cfg)));
        int[] prompt = new int[150];
        for (int i = 0; i < prompt.length; i++) prompt[i] = 3 + (i * 37) % 400;
        try (Session s = model.newSession(cfg)) {
            s.forward(prompt, 0, prompt.length, false);
            s.endOfPrompt();
            CompressedKvCache c = (CompressedKvCache) s.kvCache();
            ModelBasis mb = ModelBasis.load(basis.toString());
            assertTrue(c.head(1, 1).transform.keyKlt() == mb.keys(1, 1), "the shared basis is used");
            assertEquals(c.recountBytes(), c.stats().bytes());
            assertEquals(4L * 2 * model.kvLayout().headDim(), c.head(0, 0).transform.bytes(), "only the means are counted");
            byte[] saved = s.toBytes();
            int[] next = {7, 9, 11};
            try (Session r = model.restore(saved)) {
                for (int t : next) {
                    float[] a = s.forward(new int[]{t}, 0, 1, false), b = r.forward(new int[]{t}, 0, 1, false);
                    assertArrayEquals(a, b);
                }
            }
        }
    }
}
