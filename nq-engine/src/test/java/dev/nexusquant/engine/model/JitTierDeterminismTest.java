package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

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
        Process[] children = new Process[types.length];
        for (int m = 0; m < types.length; m++) children[m] = startInterpretedChild(models[m], dir.resolve("child-" + m + ".bin"), m);
        for (int m = 0; m < types.length; m++) { // the warm runs while the children run
            float[] warm = null;
            for (int run = 0; run < WARM_RUNS; run++) {
                float[] l = logits(models[m]);
                if (warm == null) warm = l;
                else assertBitwiseEqual(warm, l, types[m] + ": run " + run + " against run 0");
            }
            awaitChild(children[m], dir.resolve("child-" + m + ".log"));
            assertBitwiseEqual(warm, read(dir.resolve("child-" + m + ".bin")), types[m] + ": -Xint child against the warm runs");
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
        float[] l = logits(Path.of(args[0]));
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(Path.of(args[1])))) {
            o.writeInt(l.length);
            for (float v : l) o.writeInt(Float.floatToRawIntBits(v));
        }
    }

    static float[] read(Path p) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(p))) {
            float[] l = new float[in.readInt()];
            for (int i = 0; i < l.length; i++) l[i] = Float.intBitsToFloat(in.readInt());
            return l;
        }
    }

    Process startInterpretedChild(Path model, Path out, int index) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xint",
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), JitTierDeterminismTest.class.getName(), model.toString(), out.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child-" + index + ".log").toFile()).start();
    }

    static void awaitChild(Process p, Path log) throws InterruptedException {
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the -Xint child did not finish in 600 s");
        }
        assertEquals(0, p.exitValue(), () -> "the -Xint child failed: " + readQuietly(log));
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    static void assertBitwiseEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": first difference at " + i + ": " + expected[i] + " against " + actual[i]);
            }
        }
    }
}
