package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.testing.Shared;
import dev.nexusquant.engine.testing.SharedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nq-ref-27m (head_dim 64, GQA 4:1, f16 matrices) against llama.cpp's figures in ../shared/data/README.md. */
class NqRef27mTest {

    @RegisterExtension
    static final SharedModel MODEL = SharedModel.of("models/nq-ref-27m.gguf");

    @Test
    void config() {
        ModelConfig c = MODEL.assertShape(512, 8, 8, 2, 64, 1408, 8192);
        assertEquals(2048, c.contextLength());
        assertTrue(c.tiedOutput());
        assertEquals(26_747_392L, c.parameters());
        assertTrue(c.tensorTypes().containsKey(GgmlType.F16));
        assertEquals(4096, MODEL.get().kvLayout().fp16BytesPerToken());
    }

    @Test
    void tokenIds() {
        var tok = MODEL.get().tokenizer();
        assertArrayEquals(new int[]{1, 5154, 1185, 261, 748}, tok.encode("Once upon a time", true));
        assertArrayEquals(new int[]{1, 427, 7888, 2487, 8190}, tok.encode("Hello world!", true));
        assertArrayEquals(new int[]{1, 352, 963, 3478, 1206, 4108, 8111, 13, 8129, 1560, 992, 8111},
                tok.encode("The kernel schedules tasks.\nA second line.", true));
    }

    @Test
    void perplexityFirstTenChunksMatchLlamaCpp() throws Exception {
        int[] tokens = MODEL.tokenize(Shared.nqRefDev());
        MODEL.checkPerplexity(tokens, 2048, 10, 10 * (2048 / 2 - 1), 19.1732, 1e-3);
        MODEL.checkPerplexity(tokens, 1024, 10, 10 * (1024 / 2 - 1), 23.1655, 1e-3);
    }

    @Test
    void greedyTextIsNotEmpty() {
        GenerationResult r = MODEL.get().generate("The kernel", GenerationOptions.greedy(20), TokenListener.NONE);
        assertEquals(20, r.tokens().length);
        assertFalse(r.text().isBlank());
    }
}
