package dev.nexusquant.kv;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.testing.InterpretedChild;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static dev.nexusquant.engine.testing.InterpretedChild.assertBitwiseEqual;


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
        InterpretedChild[] children = new InterpretedChild[SPECS.length];
        for (int s = 0; s < SPECS.length; s++) {
            children[s] = InterpretedChild.start(dir, "spec" + s, CompressedJitTierDeterminismTest.class, model.toString(), Integer.toString(s));
        }
        try (Model m = Model.load(model)) {
            for (int s = 0; s < SPECS.length; s++) {
                float[] warm = logits(m, SPECS[s]);
                for (int run = 1; run < WARM_RUNS; run++) {
                    assertBitwiseEqual(warm, logits(m, SPECS[s]), SPECS[s] + ": run " + run + " against run 0");
                }
                assertBitwiseEqual(warm, children[s].await(), SPECS[s] + ": -Xint child against the warm runs");
            }
        }
    }

    /** Entry point of the child JVM: {@code MODEL SPEC_INDEX OUT} writes the logits of {@link #logits} to OUT. */
    public static void main(String[] args) throws IOException {
        try (Model m = Model.load(Path.of(args[0]))) {
            InterpretedChild.write(logits(m, SPECS[Integer.parseInt(args[1])]), Path.of(args[2]));
        }
    }
}
