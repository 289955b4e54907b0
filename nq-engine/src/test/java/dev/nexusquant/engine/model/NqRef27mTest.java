package dev.nexusquant.engine.model;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nq-ref-27m (head_dim 64, GQA 4:1, f16 matrices) against llama.cpp's figures in ../shared/data/README.md. */
class NqRef27mTest {

    static Model model;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(Shared.nqRef27m());
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    @Test
    void config() {
        ModelConfig c = model.config();
        assertEquals(512, c.dim());
        assertEquals(8, c.layers());
        assertEquals(8, c.heads());
        assertEquals(2, c.kvHeads());
        assertEquals(64, c.headDim());
        assertEquals(1408, c.ffnDim());
        assertEquals(8192, c.vocabSize());
        assertEquals(2048, c.contextLength());
        assertTrue(c.tiedOutput());
        assertEquals(26_747_392L, c.parameters());
        assertTrue(c.tensorTypes().containsKey(GgmlType.F16));
        assertEquals(4096, model.kvLayout().fp16BytesPerToken());
    }

    @Test
    void tokenIds() {
        var tok = model.tokenizer();
        assertArrayEquals(new int[]{1, 5154, 1185, 261, 748}, tok.encode("Once upon a time", true));
        assertArrayEquals(new int[]{1, 427, 7888, 2487, 8190}, tok.encode("Hello world!", true));
        assertArrayEquals(new int[]{1, 352, 963, 3478, 1206, 4108, 8111, 13, 8129, 1560, 992, 8111},
                tok.encode("The kernel schedules tasks.\nA second line.", true));
    }

    @Test
    void perplexityFirstTenChunksMatchLlamaCpp() throws Exception {
        int[] tokens = Perplexity.tokenizeFile(model, Shared.nqRefDev());
        check(tokens, 2048, 10, 19.1732);
        check(tokens, 1024, 10, 23.1655);
    }

    @Test
    void greedyTextIsNotEmpty() {
        GenerationResult r = model.generate("The kernel", GenerationOptions.greedy(20), TokenListener.NONE);
        assertEquals(20, r.tokens().length);
        assertFalse(r.text().isBlank());
    }

    static void check(int[] tokens, int ctx, int chunks, double expected) {
        PerplexityResult r = Perplexity.evaluate(model, tokens, ctx, chunks, DenseKvCache.FP32, ProgressListener.NONE);
        assertEquals((long) chunks * (ctx / 2 - 1), r.scoredTokens());
        System.out.printf("nq-ref-27m ctx %d chunks %d: ppl %.4f (reference %.4f) in %.1f s, %.0f tokens/s%n",
                ctx, chunks, r.ppl(), expected, r.seconds(), r.tokensPerSecond());
        assertEquals(expected, r.ppl(), expected * 1e-3, "ctx " + ctx + ", " + chunks + " chunks");
    }
}
