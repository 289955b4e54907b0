package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A small random model with a long context, seeded prompts, and the cold reference the prefix store must match. */
final class PrefixTesting {

    private PrefixTesting() {
    }

    /** 2 layers, 4 query heads and 2 KV heads of 32, Q8_0 weights, context 2048. */
    static Path writeModel(Path dir) throws IOException {
        return RandomModel.llama(4, 2, 32, GgmlType.Q8_0).context(2048).seed(17).write(dir);
    }

    static int[] prompt(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(3, 384);
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Logits after the prompt, then after each of {@code steps} greedy tokens (with the end of prompt between). */
    static List<float[]> continueGreedy(Session s, float[] promptLogits, int steps) {
        List<float[]> out = new ArrayList<>();
        out.add(promptLogits);
        s.endOfPrompt();
        float[] logits = promptLogits;
        for (int i = 0; i < steps; i++) {
            int next = argmax(logits);
            logits = s.forward(new int[]{next}, 0, 1, false);
            out.add(logits);
        }
        return out;
    }

    /** The reference: a plain session, the whole prompt run through the model. */
    static List<float[]> cold(Model model, KvCacheFactory f, int[] prompt, int steps) {
        try (Session s = model.newSession(f)) {
            return continueGreedy(s, s.forward(prompt, 0, prompt.length, false), steps);
        }
    }

    static void assertSameLogits(List<float[]> want, List<float[]> got, String what) {
        assertEquals(want.size(), got.size(), what);
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), what + ", step " + i);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }
}
