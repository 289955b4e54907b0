package dev.nexusquant.kv;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Logits through a compressed cache do not depend on how far the JIT has got, as the engine's
 * {@code JitTierDeterminismTest} shows for the dense cache: a child JVM run with {@code -Xint} (the Vector API in its
 * Java fallback) computes the same bits as each of this JVM's warm runs while C1 and C2 compile the cache's kernels
 * (E8 encoding and dot products, the Hadamard rotation, attention scores and sums, SnapKV). The runs cover a prompt, decode
 * steps, and a second prompt into the same cache, with an explicit E8 spec and the balanced preset.
 */
class CompressedJitTierDeterminismTest {

    static final String[] SPECS = {"k=e8:3,v=e8:2,rot=on,center=kv,evict=snapkv:0.5,window=16,block=16,wprec=f16", "balanced"};
    static final int WARM_RUNS = 100;

    @TempDir
    Path dir;

    static KvCacheFactory factory(String spec) {
        return spec.equals("balanced") ? KvCompression.balanced() : KvSpec.parse(spec);
    }

    /** Prompt 48, 4 decode steps, second prompt 24, 4 steps: the logits concatenated. */
    static float[] logits(Model m, String spec) {
        int vocab = m.config().vocabSize();
        float[][] parts = ModelIntegrationTest.run(m, factory(spec), ModelIntegrationTest.tokens(90, 5, vocab), 48, 4, 24);
        float[] all = new float[0];
        for (float[] p : parts) {
            float[] grown = java.util.Arrays.copyOf(all, all.length + p.length);
            System.arraycopy(p, 0, grown, all.length, p.length);
            all = grown;
        }
        return all;
    }

    @Test
    void interpretedChildAndWarmRunsGiveIdenticalLogits() throws Exception {
        // small shapes: the -Xint child runs every kernel interpreted, the Vector API some thousand times slower
        Path model = RandomModel.llama(2, 1, 64, GgmlType.F32).layers(2).vocab(300).context(256).seed(23).write(dir);
        Process[] children = new Process[SPECS.length];
        for (int s = 0; s < SPECS.length; s++) children[s] = startInterpretedChild(model, s);
        try (Model m = Model.load(model)) {
            for (int s = 0; s < SPECS.length; s++) {
                float[] warm = logits(m, SPECS[s]);
                for (int run = 1; run < WARM_RUNS; run++) {
                    assertBitwiseEqual(warm, logits(m, SPECS[s]), SPECS[s] + ": run " + run + " against run 0");
                }
                awaitChild(children[s], dir.resolve("child-" + s + ".log"));
                assertBitwiseEqual(warm, read(dir.resolve("child-" + s + ".bin")), SPECS[s] + ": -Xint child against the warm runs");
            }
        }
    }

    /** Entry point of the child JVM: {@code MODEL SPEC_INDEX OUT} writes the logits of {@link #logits} to OUT. */
    public static void main(String[] args) throws IOException {
        float[] l;
        try (Model m = Model.load(Path.of(args[0]))) {
            l = logits(m, SPECS[Integer.parseInt(args[1])]);
        }
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(Path.of(args[2])))) {
            o.writeInt(l.length);
            for (float v : l) o.writeInt(Float.floatToRawIntBits(v));
        }
    }

    /** The child runs the kernels this JVM runs: the vector module and the vectorization switch passed on. */
    Process startInterpretedChild(Path model, int spec) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xint",
                "--enable-native-access=ALL-UNNAMED"));
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) cmd.addAll(List.of("--add-modules", "jdk.incubator.vector"));
        String switchValue = System.getProperty("nq.vectorization");
        if (switchValue != null) cmd.add("-Dnq.vectorization=" + switchValue);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CompressedJitTierDeterminismTest.class.getName(),
                model.toString(), Integer.toString(spec), dir.resolve("child-" + spec + ".bin").toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child-" + spec + ".log").toFile()).start();
    }

    static float[] read(Path p) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(p))) {
            float[] l = new float[in.readInt()];
            for (int i = 0; i < l.length; i++) l[i] = Float.intBitsToFloat(in.readInt());
            return l;
        }
    }

    static void awaitChild(Process p, Path log) throws InterruptedException, IOException {
        if (!p.waitFor(600, TimeUnit.SECONDS)) { // a bound for a hung child, not a speed check
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
                fail(what + ": first difference at " + i + " of " + expected.length + ": " + expected[i] + " against " + actual[i]);
            }
        }
    }
}
