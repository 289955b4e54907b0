package dev.nexusquant.engine.kv;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.model.GenerationOptions;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.TokenListener;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass, generation and perplexity use the KV cache only as its contract says. */
class KvContractTest {

    /** A dense cache that records the calls it gets. */
    static final class Recording implements KvCache {
        final DenseKvCache inner;
        final List<String> log;

        Recording(KvLayout l, List<String> log) {
            this.inner = new DenseKvCache(l, DenseKvCache.Precision.FP32);
            this.log = log;
        }

        public KvLayout layout() { return inner.layout(); }

        public void append(int layer, int n, int[] positions, float[] k, float[] v) {
            log.add("append " + layer + " " + n + " @" + positions[0]);
            inner.append(layer, n, positions, k, v);
        }

        public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
            log.add("attend " + layer + " " + kvHead + " " + n);
            inner.attend(layer, kvHead, n, positions, q, out);
        }

        public void endOfPrompt() { log.add("endOfPrompt"); }

        public long tokensSeen() { return inner.tokensSeen(); }

        public KvStats stats() { return inner.stats(); }

        public void close() { log.add("close"); inner.close(); }
    }

    @TempDir
    Path dir;

    @Test
    void generationAppendsAttendsAndMarksTheEndOfThePrompt() throws Exception {
        Path p = RandomModel.llama(4, 2, 16, GgmlType.F32).layers(2).write(dir);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (Model m = Model.load(p)) {
            KvCacheFactory f = l -> new Recording(l, log);
            KvCacheFactory previous = m.setKvCacheFactory(f);
            assertSame(DenseKvCache.FP32, previous);
            assertSame(f, m.kvCacheFactory());
            int promptTokens = m.tokenizer().encode("the park", true).length;
            m.generate("the park", GenerationOptions.greedy(3).withTemperature(0f), TokenListener.NONE);
            // prefill: per layer one append of the whole prompt, then one attend per KV head
            List<String> expected = new ArrayList<>();
            for (int l = 0; l < 2; l++) {
                expected.add("append " + l + " " + promptTokens + " @0");
                expected.add("attend " + l + " 0 " + promptTokens);
                expected.add("attend " + l + " 1 " + promptTokens);
            }
            expected.add("endOfPrompt");
            for (int step = 0; step < 2; step++) {
                for (int l = 0; l < 2; l++) {
                    expected.add("append " + l + " 1 @" + (promptTokens + step));
                    expected.add("attend " + l + " 0 1");
                    expected.add("attend " + l + " 1 1");
                }
            }
            expected.add("close");
            List<String> got = new ArrayList<>(log);
            sortAttends(got);
            assertEquals(expected, got);
            m.setKvCacheFactory(previous);
        }
    }

    @Test
    void perplexityPrefillsHalfMarksTheEndThenScoresTheRest() throws Exception {
        Path p = RandomModel.llama(4, 2, 16, GgmlType.F32).layers(1).write(dir);
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (Model m = Model.load(p)) {
            int[] tokens = new int[64 * 3 + 5];
            for (int i = 0; i < tokens.length; i++) tokens[i] = 3 + i % 300;
            PerplexityResult r = Perplexity.evaluate(m, tokens, 64, 2, l -> new Recording(l, log), ProgressListener.NONE);
            assertEquals(2, r.chunks());
            assertEquals(2 * 31, r.scoredTokens());
            List<String> chunk = List.of("append 0 32 @0", "attend 0 0 32", "attend 0 1 32", "endOfPrompt",
                    "append 0 31 @32", "attend 0 0 31", "attend 0 1 31", "close");
            List<String> expected = new ArrayList<>(chunk);
            expected.addAll(chunk);
            List<String> got = new ArrayList<>(log);
            sortAttends(got);
            assertEquals(expected, got);
            assertTrue(r.kvBytes() > 0);
            // chunks in parallel give the same perplexity
            PerplexityResult par = Perplexity.evaluate(m, tokens, 64, 3, DenseKvCache.FP32, ProgressListener.NONE, 2);
            PerplexityResult seq = Perplexity.evaluate(m, tokens, 64, 3, DenseKvCache.FP32, ProgressListener.NONE, 1);
            assertEquals(seq.ppl(), par.ppl(), 1e-9 * seq.ppl());
        }
    }

    /** attend calls of one layer may come in any order (they run in parallel): sort each run of them. */
    static void sortAttends(List<String> log) {
        for (int i = 0; i < log.size(); ) {
            int j = i;
            while (j < log.size() && log.get(j).startsWith("attend")) j++;
            if (j > i) Collections.sort(log.subList(i, j));
            i = Math.max(j, i + 1);
        }
    }
}
