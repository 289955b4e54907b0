package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.testing.InterpretedChild;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static dev.nexusquant.engine.testing.InterpretedChild.assertBitwiseEqual;


/**
 * The logits do not depend on how far the JIT has got: a child JVM run with {@code -Xint} (every kernel interpreted,
 * the Vector API in its Java fallback) computes the same bits as this JVM computes in each of 300 runs while C1 and
 * C2 compile the kernels. What could differ between tiers (the order of lane sums, a vector math library's exp) is
 * written with exactly defined lane operations ({@code Lanes}). A prefill batch (the matrix-matrix kernels) and single
 * tokens (the row kernels) are both covered, on Q8_0 and Q6_K weights.
 */
class JitTierDeterminismTest {

    static final int PREFILL = 17, DECODE = 2, WARM_RUNS = 300; // 17 tokens: softmax rows of 16 lanes and more

    @TempDir
    Path dir;

    @Test
    void interpretedChildAndWarmRunsGiveIdenticalLogits() throws Exception {
        // small shapes: the -Xint child runs the Vector API's Java fallback, some thousand times slower than C2
        GgmlType[] types = {GgmlType.Q8_0, GgmlType.Q6_K};
        Path[] models = {RandomModel.llama(2, 1, 32, GgmlType.Q8_0).seed(17).write(dir), // dim 64
                RandomModel.llama(2, 1, 128, GgmlType.Q6_K).ffn(256).seed(17).write(dir)}; // K-quant rows: 256 columns
        InterpretedChild[] children = new InterpretedChild[types.length];
        for (int m = 0; m < types.length; m++) {
            children[m] = InterpretedChild.start(dir, types[m].name(), JitTierDeterminismTest.class, models[m].toString());
        }
        for (int m = 0; m < types.length; m++) { // the warm runs while the children run
            float[] warm = null;
            for (int run = 0; run < WARM_RUNS; run++) {
                float[] l = logits(models[m]);
                if (warm == null) warm = l;
                else assertBitwiseEqual(warm, l, types[m] + ": run " + run + " against run 0");
            }
            assertBitwiseEqual(warm, children[m].await(), types[m] + ": -Xint child against the warm runs");
        }
    }

    /** Logits of a prefill batch and of single decode steps after it, concatenated. */
    static float[] logits(Path model) throws IOException {
        try (Model m = Model.load(model); Session s = m.newSession()) {
            int vocab = m.config().vocabSize();
            int[] tokens = new int[PREFILL + DECODE];
            Random r = new Random(3);
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(vocab);
            float[] all = new float[(PREFILL + DECODE) * vocab];
            System.arraycopy(s.forward(tokens, 0, PREFILL, true), 0, all, 0, PREFILL * vocab);
            for (int i = PREFILL; i < tokens.length; i++) System.arraycopy(s.forward(tokens, i, 1, false), 0, all, i * vocab, vocab);
            return all;
        }
    }

    /** Entry point of the child JVM: {@code MODEL OUT} writes the logits of {@link #logits} to OUT. */
    public static void main(String[] args) throws IOException {
        InterpretedChild.write(logits(Path.of(args[0])), Path.of(args[1]));
    }
}
