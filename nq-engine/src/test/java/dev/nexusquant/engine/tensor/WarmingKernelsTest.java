package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static dev.nexusquant.engine.tensor.LaneExactTwinsTest.assertBits;
import static dev.nexusquant.engine.tensor.LaneExactTwinsTest.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WarmingKernels} gives the vector kernels' bits whichever twin runs (whole calls, calls cut between the
 * twins), hands every kernel to the vector twin on a long run, and leaves a model's logits unchanged.
 */
class WarmingKernelsTest {

    static final long SEED = LaneExactTwinsTest.SEED;

    static WarmingKernels fresh() {
        return new WarmingKernels(Kernels.vector(), ScalarKernels.matching(VectorKernels.L));
    }

    /** Fewer calls than a race needs before the vector twin can win: every call is scalar, cut, or a vector sample. */
    @Test
    void whileWarmingEveryCallGivesTheVectorKernelsBits() {
        Assumptions.assumeTrue(Kernels.vector() instanceof VectorKernels, "no vector kernels on this CPU");
        Random r = new Random(SEED + 10);
        WarmingKernels w = fresh();
        for (int call = 0; call < KernelRace.MIN_SCALAR_CALLS - 1; call++) {
            int cols = 1 + r.nextInt(300), rows = 1 + r.nextInt(Kernels.PANEL), tokens = 1 + r.nextInt(60);
            float[] panel = random(r, cols * Kernels.PANEL, 1), x = random(r, tokens * cols, 1);
            float[] a = new float[tokens * rows], b = new float[tokens * rows];
            Kernels.vector().gemmPanel(panel, cols, rows, x, 0, tokens, a, 0, rows);
            w.gemmPanel(panel, cols, rows, x, 0, tokens, b, 0, rows);
            assertBits(a, b, "gemmPanel call " + call + " tokens=" + tokens);

            int qr = 1 + r.nextInt(4), hd = call % 2 == 0 ? 128 : 1 + r.nextInt(140), t = 1 + r.nextInt(260);
            float[] q = random(r, qr * hd, 1), kt = random(r, hd * t, 1);
            float[] s1 = new float[qr * t], s2 = new float[qr * t];
            Kernels.vector().scores(q, 0, hd, qr, hd, kt, 0, t, t, 0.1f, s1, 0, t);
            w.scores(q, 0, hd, qr, hd, kt, 0, t, t, 0.1f, s2, 0, t);
            assertBits(s1, s2, "scores call " + call + " tokens=" + t);

            float[] v = random(r, t * hd, 1), o1 = random(r, qr * hd, 1), o2 = o1.clone();
            Kernels.vector().weightedSum(s1, 0, t, qr, v, 0, t, hd, o1, 0, hd);
            w.weightedSum(s1, 0, t, qr, v, 0, t, hd, o2, 0, hd);
            assertBits(o1, o2, "weightedSum call " + call + " tokens=" + t);

            int n = 1 + r.nextInt(call % 3 == 0 ? 5000 : 200);
            float[] e1 = random(r, n, 5), e2 = e1.clone();
            float m = (float) r.nextGaussian();
            assertBits(new float[]{Kernels.vector().expShifted(e1, 0, n, m)}, new float[]{w.expShifted(e2, 0, n, m)}, "expShifted's sum");
            assertBits(e1, e2, "expShifted call " + call + " n=" + n);

            float[] g1 = random(r, n, 3), g2 = g1.clone(), up = random(r, n, 1);
            Kernels.vector().siluMul(g1, up, n);
            w.siluMul(g2, up, n);
            assertBits(g1, g2, "siluMul call " + call + " n=" + n);
        }
        for (KernelRace race : new KernelRace[]{w.gemmPanel, w.scores, w.weightedSum, w.expShifted, w.siluMul}) {
            assertFalse(race.vectorWon(), race + " won before " + KernelRace.MIN_SCALAR_CALLS + " scalar calls");
            assertTrue(race.calls()[0] > 0, race + ": the scalar twin never ran");
        }
    }

    @Test
    void panelsWhileWarming() {
        Assumptions.assumeTrue(Kernels.vector() instanceof VectorKernels, "no vector kernels on this CPU");
        Random r = new Random(SEED + 11);
        WarmingKernels w = fresh();
        try (Arena arena = Arena.ofShared()) {
            Weights file = KernelsTest.randomWeights(r, dev.nexusquant.engine.gguf.GgmlType.Q8_0, 100, 512);
            Weights packed = w.prepare(file, arena);
            for (int call = 0; call < 20; call++) {
                int row = Kernels.PANEL * r.nextInt(4), count = Math.min(Kernels.PANEL, 100 - row);
                float[] rows = new float[Kernels.PANEL * 512], p1 = new float[512 * Kernels.PANEL], p2 = new float[512 * Kernels.PANEL];
                Kernels.vector().panel(packed, row, count, rows, p1);
                w.panel(packed, row, count, rows, p2);
                assertBits(p1, p2, "panel call " + call);
            }
            int[] calls = w.panel.calls();
            assertTrue(calls[0] > 0 && calls[1] > 0, "both twins ran: " + w.panel);
        }
    }

    /** A long run of prefill-sized calls hands every kernel to the vector twin (a dispatch that stayed scalar would be a disaster). */
    @Test
    void everyKernelSwitchesToTheVectorTwinOnALongRun() {
        Assumptions.assumeTrue(Kernels.vector() instanceof VectorKernels, "no vector kernels on this CPU");
        Random r = new Random(SEED + 12);
        WarmingKernels w = fresh();
        int cols = 512, tokens = 64, hd = 128, t = 256, n = 8192;
        float[] panel = random(r, cols * Kernels.PANEL, 1), x = random(r, tokens * cols, 1), out = new float[tokens * Kernels.PANEL];
        float[] q = random(r, 4 * hd, 1), kt = random(r, hd * t, 1), s = new float[4 * t], v = random(r, t * hd, 1), o = new float[4 * hd];
        float[] e = new float[n], g = new float[n], up = random(r, n, 1), rows = new float[Kernels.PANEL * cols], p = new float[cols * Kernels.PANEL];
        KernelRace[] races = {w.panel, w.gemmPanel, w.scores, w.weightedSum, w.expShifted, w.siluMul};
        try (Arena arena = Arena.ofShared()) {
            Weights packed = w.prepare(KernelsTest.randomWeights(r, dev.nexusquant.engine.gguf.GgmlType.Q8_0, 64, cols), arena);
            long deadline = System.nanoTime() + 120_000_000_000L;
            boolean all = false;
            while (!all && System.nanoTime() < deadline) {
                w.panel(packed, 0, Kernels.PANEL, rows, p);
                w.gemmPanel(panel, cols, Kernels.PANEL, x, 0, tokens, out, 0, Kernels.PANEL);
                w.scores(q, 0, hd, 4, hd, kt, 0, t, t, 0.1f, s, 0, t);
                w.weightedSum(s, 0, t, 4, v, 0, t, hd, o, 0, hd);
                for (int i = 0; i < n; i++) e[i] = (float) r.nextGaussian();
                w.expShifted(e, 0, n, 0f);
                System.arraycopy(e, 0, g, 0, n);
                w.siluMul(g, up, n);
                all = true;
                for (KernelRace race : races) all &= race.vectorWon();
            }
            for (KernelRace race : races) assertTrue(race.vectorWon(), race + " did not switch within 120 s");
        }
    }

    /** Prefill and greedy steps: the logits with the dispatch (fresh, so it starts on the scalar twins) and without it. */
    static void sameLogits(Path model, int promptTokens, int steps) throws IOException {
        Assumptions.assumeTrue(Kernels.vector() instanceof VectorKernels, "no vector kernels on this CPU");
        float[] plain = logits(model, Kernels.vector(), promptTokens, steps);
        WarmingKernels w = fresh();
        float[] warming = logits(model, w, promptTokens, steps);
        assertBits(plain, warming, model.getFileName() + ": logits with the dispatch against the vector kernels");
        for (KernelRace race : new KernelRace[]{w.panel, w.gemmPanel, w.scores, w.weightedSum, w.expShifted, w.siluMul}) {
            assertTrue(race.calls()[0] > 0, "the scalar twin ran: " + race);
        }
    }

    static float[] logits(Path path, Kernels k, int promptTokens, int steps) throws IOException {
        try (Model m = Model.load(path, k, Model.HalfWeights.KEEP);
             Session s = m.newSession(new DenseKvCache(m.kvLayout(), DenseKvCache.Precision.FP32, k))) { // the attention's kernels too
            int vocab = m.config().vocabSize();
            int[] tokens = new int[promptTokens + steps];
            Random r = new Random(5);
            for (int i = 0; i < promptTokens; i++) tokens[i] = 3 + r.nextInt(vocab - 3);
            float[] all = new float[(promptTokens + steps) * vocab];
            System.arraycopy(s.forward(tokens, 0, promptTokens, true), 0, all, 0, promptTokens * vocab);
            for (int i = promptTokens; i < tokens.length; i++) {
                float[] prev = java.util.Arrays.copyOfRange(all, (i - 1) * vocab, i * vocab);
                int best = 0;
                for (int j = 1; j < vocab; j++) if (prev[j] > prev[best]) best = j; // greedy
                tokens[i] = best;
                System.arraycopy(s.forward(tokens, i, 1, false), 0, all, i * vocab, vocab);
            }
            return all;
        }
    }

    @Test
    void stories260KLogitsDoNotDependOnTheDispatch() throws IOException {
        sameLogits(Shared.stories260K(), 70, 4);
    }

    @Test
    void projectModelLogitsDoNotDependOnTheDispatch() throws IOException {
        Path model = null;
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null && model == null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("model/default.gguf"))) model = p.resolve("model/default.gguf");
        }
        Assumptions.assumeTrue(model != null, "model/default.gguf not found");
        sameLogits(model, 300, 4);
    }

    @Test
    void thePropertyTurnsItOff() {
        String old = System.getProperty(WarmingKernels.PROPERTY);
        try {
            System.setProperty(WarmingKernels.PROPERTY, "false");
            assertFalse(WarmingKernels.enabled());
            System.setProperty(WarmingKernels.PROPERTY, "true");
            assertTrue(WarmingKernels.enabled());
            System.clearProperty(WarmingKernels.PROPERTY);
            assertFalse(WarmingKernels.enabled(), "off by default");
        } finally {
            if (old == null) System.clearProperty(WarmingKernels.PROPERTY);
            else System.setProperty(WarmingKernels.PROPERTY, old);
        }
        assertEquals(Kernels.vector().name() + "+warmup", fresh().name());
    }
}
