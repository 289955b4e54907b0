package dev.nexusquant.engine.model;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The project's model loaded with its weights rearranged by the kernels at load ({@code Kernels.prepare}: Q8_0 rows
 * in groups for 16 lanes), as every model is by default: close to the logits of the file's rows (a model loaded with
 * {@code nq.prepareMinParameters} above its size): within the 8-bit x's rounding in decode (the default), or, with
 * {@code -Dnq.q8Activations=false}, the same up to the order of float additions.
 */
class PreparedWeightsTest {

    @Test
    void packedWeightsGiveTheFilesLogits() throws Exception {
        Path file = NexusQuantLmTest.modelDir().resolve(NexusQuantLmTest.FILE);
        int[] tokens = new int[24];
        Random r = new Random(3);
        float[][] plain, packed;
        try (Model m = fileRows(file)) {
            assertNull(m.output.packed(), "above nq.prepareMinParameters a model reads its rows from the file");
            for (int i = 0; i < tokens.length; i++) tokens[i] = 1 + r.nextInt(m.config().vocabSize() - 1);
            plain = run(m, tokens);
        }
        try (Model m = Model.load(file)) {
            if (m.kernels().name().equals("vector512")) {
                assertNotNull(m.output.packed(), "16 lanes pack Q8_0 rows by default");
                assertNotNull(m.layers[0].wk().packed(), "also the 256 x 512 ones");
            }
            packed = run(m, tokens); // while the weights may still be moving onto huge pages
            m.awaitWeightsSettled();
            float[][] settled = run(m, tokens);
            for (int i = 0; i < packed.length; i++) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(packed[i], settled[i], "step " + i + ": the same bits after the move");
            }
        }
        if (dev.nexusquant.engine.tensor.VectorKernels.roundsActivations(dev.nexusquant.engine.gguf.GgmlType.Q8_0)) {
            // single-token steps, and the last prefill token's output product, multiply x rounded to 8 bits per block
            // of 32 (llama.cpp's Q8_0 activations): 0.4-1.6% of the logits' norm here (decode perplexity of this model
            // +0.1%, BENCHMARKS.md "Decode, 2026-12-04 (fourth session)"); the kernel is checked exactly in KernelsTest
            assertRelativeError(plain, packed, 3e-2);
        } else {
            assertSameLogits(plain, packed);
        }
    }

    /**
     * A random Q4_K model whose large matrices (1-2 M values) the vector kernels pack at load ({@code Q4kGroups}: rows in
     * groups of 16): close to the logits from the file's rows. The grouped kernel multiplies x rounded to 8 bits per
     * block of 256 (as llama.cpp's Q8_K activations), so each step's logits (the last token's of a prefill too: one
     * token's output product) move by about 1% of their norm in this random model, where the file's rows give the float
     * products (up to the order of additions); the kernel itself is checked exactly in KernelsTest.
     */
    @Test
    void packedQ4kWeightsGiveTheFilesLogits(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dev.nexusquant.engine.testing.RandomModel.llama(8, 2, 128, dev.nexusquant.engine.gguf.GgmlType.Q4_K).seed(11).write(dir);
        int[] tokens = new int[24];
        Random r = new Random(4);
        float[][] plain, packed;
        try (Model m = fileRows(file)) {
            assertNull(m.layers[0].wq().packed(), "above nq.prepareMinParameters a model reads its rows from the file");
            for (int i = 0; i < tokens.length; i++) tokens[i] = 1 + r.nextInt(m.config().vocabSize() - 1);
            plain = run(m, tokens);
        }
        try (Model m = Model.load(file)) {
            if (m.kernels().name().equals("vector512")) {
                assertNotNull(m.layers[0].wq().packed(), "16 lanes pack Q4_K rows of 1 M values");
                assertNotNull(m.layers[0].wGate().packed(), "16 lanes pack Q4_K rows of 2 M values");
            }
            packed = run(m, tokens);
        }
        assertRelativeError(plain, packed, 3e-2);
    }

    /** Each step's logits [steps][vocab] within {@code bound} of the file rows' in relative L2 norm. */
    private static void assertRelativeError(float[][] plain, float[][] packed, double bound) {
        for (int s = 0; s < plain.length; s++) {
            double num = 0, den = 0;
            for (int i = 0; i < plain[s].length; i++) {
                num += (packed[s][i] - plain[s][i]) * (double) (packed[s][i] - plain[s][i]);
                den += (double) plain[s][i] * plain[s][i];
            }
            assertTrue(Math.sqrt(num / den) < bound, "step " + s + ": relative error " + Math.sqrt(num / den));
        }
    }

    /** The model with every matrix read from the file (no kernel rearranges it at load). */
    private static Model fileRows(Path file) throws java.io.IOException {
        String old = System.setProperty(Model.PREPARE_MIN_PROPERTY, Long.toString(Long.MAX_VALUE));
        try {
            return Model.load(file);
        } finally {
            if (old == null) System.clearProperty(Model.PREPARE_MIN_PROPERTY);
            else System.setProperty(Model.PREPARE_MIN_PROPERTY, old);
        }
    }

    /** Logits after a prefill of 16 tokens, then after each of 8 single-token steps. */
    private static float[][] run(Model m, int[] tokens) {
        float[][] out = new float[9][];
        try (Session s = m.newSession()) {
            out[0] = s.forward(tokens, 0, 16, false);
            for (int i = 16; i < 24; i++) out[i - 15] = s.forward(tokens, i, 1, false);
        }
        return out;
    }

    /** Each step's logits [steps][vocab] equal to 1e-4 of the step's largest logit. */
    private static void assertSameLogits(float[][] plain, float[][] packed) {
        for (int s = 0; s < plain.length; s++) {
            double scale = 0;
            for (float v : plain[s]) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < plain[s].length; i++) {
                org.junit.jupiter.api.Assertions.assertEquals(plain[s][i], packed[s][i], 1e-4 * scale, "step " + s + ", logit " + i);
            }
        }
    }
}
