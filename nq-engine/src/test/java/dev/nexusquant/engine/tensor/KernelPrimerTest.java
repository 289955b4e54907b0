package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;

import static dev.nexusquant.engine.testing.InterpretedChild.assertBitwiseEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link KernelPrimer} leaves a model's logits as they are (before it ran, while it primes the model's matrices
 * during the load, after it), takes the matrices a load hands it, and primes every weight type without failing (in a
 * process its failures would be silent).
 */
class KernelPrimerTest {

    static final long SEED = 20261204L;

    @TempDir
    Path dir;

    @Test
    void logitsAreTheSameBeforeWhileAndAfterThePrimerRuns() throws Exception {
        Assumptions.assumeTrue(Kernels.preferred() instanceof VectorKernels, "no vector kernels on this CPU");
        Path model = RandomModel.llama(4, 2, 64, GgmlType.Q8_0).seed(SEED).write(dir);
        float[] before = logits(model);
        Thread t = KernelPrimer.start(2_000);
        assertNotNull(t, "the primer started");
        assertNull(KernelPrimer.start(2_000), "one primer per process");
        while (!KernelPrimer.isRunning() && t.isAlive()) Thread.onSpinWait(); // in a warm JVM the load can beat the thread's set-up
        float[] during = logits(model); // the load offers its matrices to the running primer
        t.join(120_000);
        assertFalse(t.isAlive(), "the primer ended after its wait");
        float[] after = logits(model);
        assertBitwiseEqual(before, during, "logits while the primer ran against before");
        assertBitwiseEqual(before, after, "logits after the primer against before");
        assertEquals(Set.of("Q8_0+packed"), KernelPrimer.lastKinds, "the primer took the model's matrices");
    }

    @Test
    void everyWeightTypePrimesWithoutFailing() {
        Assumptions.assumeTrue(Kernels.vector() instanceof VectorKernels, "no vector kernels on this CPU");
        Kernels k = Kernels.vector();
        Random r = new Random(SEED + 1);
        KernelPrimer p = new KernelPrimer(k);
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType type : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
                    GgmlType.Q4_K, GgmlType.Q6_K}) {
                Weights file = KernelsTest.randomWeights(r, type, 40, 256);
                for (Weights w : new Weights[]{file, k.prepare(file, arena)}) {
                    p.prefill(w, 3);
                    p.decode(w, 3);
                }
            }
        }
        for (int i = 0; i < 12; i++) { // every shape each float kernel is primed with
            p.gemmPanel(i);
            p.scores(i);
            p.softmax(i);
            p.weightedSum(i);
            p.siluMul(i);
        }
        assertTrue(p.out[0] != 0 && p.o[0] != 0, "the float kernels wrote their outputs");
    }

    @Test
    void offeringWithoutAPrimerDoesNothing() throws Exception {
        Random r = new Random(SEED + 2);
        KernelPrimer.offer(KernelsTest.randomWeights(r, GgmlType.Q8_0, 16, 64)); // no primer runs: no effect, no failure
    }

    /** Logits of a 21-token prefill (every position) and of 2 single-token steps after it, concatenated. */
    static float[] logits(Path model) throws IOException {
        try (Model m = Model.load(model); Session s = m.newSession()) {
            int vocab = m.config().vocabSize(), prefill = 21, steps = 2;
            int[] tokens = new int[prefill + steps];
            Random r = new Random(SEED + 3);
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(vocab);
            float[] all = new float[(prefill + steps) * vocab];
            System.arraycopy(s.forward(tokens, 0, prefill, true), 0, all, 0, prefill * vocab);
            for (int i = prefill; i < tokens.length; i++) System.arraycopy(s.forward(tokens, i, 1, false), 0, all, i * vocab, vocab);
            return all;
        }
    }
}
