package dev.nexusquant.kv;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;
import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compressed cache inside real forward passes: a random-weight model of realistic shape and stories260K. */
class ModelIntegrationTest {

    @TempDir
    static Path dir;
    static Model model; // head_dim 64, GQA 4:1

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(RandomModel.llama(8, 2, 64, GgmlType.F32).layers(3).context(1024).vocab(512).write(dir));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Logits of a prompt, then of each of {@code decode} single steps, with a multi-turn second prompt. */
    static float[][] run(Model m, KvCacheFactory f, int[] tokens, int prompt, int decode, int prompt2) {
        List<float[]> out = new ArrayList<>();
        try (Session s = m.newSession(f)) {
            out.add(s.forward(tokens, 0, prompt, true));
            s.endOfPrompt();
            int at = prompt;
            for (int i = 0; i < decode; i++) out.add(s.forward(tokens, at++, 1, false));
            if (prompt2 > 0) {
                out.add(s.forward(tokens, at, prompt2, true)); // a second turn into the same cache
                at += prompt2;
                s.endOfPrompt();
                for (int i = 0; i < decode; i++) out.add(s.forward(tokens, at++, 1, false));
            }
        }
        return out.toArray(new float[0][]);
    }

    static int[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
        return t;
    }

    /** max |a - b| / max |a|: float rounding in a different summation order gives about 1e-6. */
    static double maxAbsDiff(float[][] a, float[][] b) {
        double m = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
                scale = Math.max(scale, Math.abs(a[i][j]));
            }
        }
        return m / scale;
    }

    @Test
    void losslessSettingsGiveTheLogitsOfTheDenseCache() {
        int[] t = tokens(400, 1, 512);
        float[][] dense = run(model, DenseKvCache.FP32, t, 150, 40, 60);
        // no eviction, fp32 rows, fp32 window: a compressed cache in structure only
        KvCompression lossless = KvSpec.parse("k=fp32,v=fp32,evict=none,window=16,block=8,wprec=f32,staging=64");
        float[][] comp = run(model, lossless, t, 150, 40, 60);
        assertTrue(maxAbsDiff(dense, comp) < 1e-5, "relative max |logit difference| " + maxAbsDiff(dense, comp));
        // and the transforms on top (rotation, centring, pre-RoPE keys) are exact too
        KvCompression transformed = KvSpec.parse("k=fp32,v=fp32,rot=on,center=kv,keys=pre,window=16,block=8,wprec=f32");
        float[][] tr = run(model, transformed, t, 150, 40, 60);
        assertTrue(maxAbsDiff(dense, tr) < 1e-5, "relative max |logit difference| " + maxAbsDiff(dense, tr));
    }

    @Test
    void stories260KGreedyTextIsUnchangedByLosslessCompression() throws Exception {
        Path file = Shared.stories260K();
        try (Model m = Model.load(file)) {
            KvCompression lossless = KvSpec.parse("k=fp32,v=fp32,window=8,block=8,wprec=f32");
            var opts = dev.nexusquant.engine.model.GenerationOptions.greedy(120);
            String dense = m.generate("Once upon a time", opts, (id, p) -> { }).text();
            String comp;
            try (var nq = NexusQuant.compress(m, lossless)) {
                comp = m.generate("Once upon a time", opts, (id, p) -> { }).text();
                assertTrue(nq.stats().tokensSeen() > 100, "the block's cache was used: " + nq.stats());
            }
            assertEquals(dense, comp);
            assertEquals(DenseKvCache.FP32, m.kvCacheFactory(), "closing the block restores the default cache");
            try (var alias = NexusQuant.evict(m, Quality.HIGH)) { // the Python original's name, the same block
                assertEquals(Quality.HIGH.config(), alias.config());
                assertEquals(Quality.HIGH.config().describe(), m.kvCacheFactory().describe());
            }
            assertEquals(DenseKvCache.FP32, m.kvCacheFactory());
        }
    }

    @Test
    void concurrentMultiTurnSessionsGiveTheSameLogitsAsSequentialOnes() throws Exception {
        KvCompression cfg = KvSpec.parse("k=e8:3,v=e8:2,rot=on,center=kv,evict=snapkv:0.5,window=16,block=16,wprec=f16");
        int sessions = 4;
        // No warm-up: the vector kernels' lane sums have one fixed order (LaneSum, the engine's Lanes), so the cold
        // sequential runs and the concurrent ones (compiled by then) must give the same bits
        float[][][] seq = new float[sessions][][];
        for (int i = 0; i < sessions; i++) seq[i] = run(model, cfg, tokens(300, 10 + i, 512), 120, 20, 40);
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        try {
            List<Future<float[][]>> futures = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                int id = i;
                futures.add(pool.submit(() -> run(model, cfg, tokens(300, 10 + id, 512), 120, 20, 40)));
            }
            for (int i = 0; i < sessions; i++) {
                float[][] got = futures.get(i).get();
                assertEquals(seq[i].length, got.length);
                assertEquals(0.0, maxAbsDiff(seq[i], got), "session " + i + ": relative max |logit difference|");
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void lossyCompressionStaysCloseToTheDenseLogits() {
        int[] t = tokens(300, 3, 512);
        float[][] dense = run(model, DenseKvCache.FP32, t, 200, 30, 0);
        float[][] e84 = run(model, KvSpec.parse("k=e8:4,v=e8:4,rot=on,center=kv,window=16,block=16,wprec=f16"), t, 200, 30, 0);
        float[][] e82 = run(model, KvSpec.parse("k=e8:2,v=e8:2,rot=on,center=kv,window=16,block=16,wprec=f16"), t, 200, 30, 0);
        double d4 = maxAbsDiff(dense, e84), d2 = maxAbsDiff(dense, e82);
        assertTrue(d4 < d2, "4-bit codes are closer to dense than 2-bit: " + d4 + " vs " + d2);
    }
}
