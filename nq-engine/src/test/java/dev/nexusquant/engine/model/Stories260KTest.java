package dev.nexusquant.engine.model;

import dev.nexusquant.engine.testing.Shared;
import dev.nexusquant.engine.testing.SharedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** stories260K against the reference outputs of ../shared/data/README.md (llama.cpp and an independent implementation). */
class Stories260KTest {

    static final String REFERENCE = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.
            Lily's mom said, "Lily, let's go to the park." Lily was sad and didn't know what to do. She said, "I want to play with your ball, but I can't find it.\"""";

    @RegisterExtension
    static final SharedModel MODEL = SharedModel.of("models/stories260K.gguf");

    @Test
    void config() {
        MODEL.assertShape(64, 5, 8, 4, 8, 172, 512);
        assertEquals(1, MODEL.get().tokenizer().bos());
        assertEquals(2, MODEL.get().tokenizer().eos());
    }

    @Test
    void tokenIds() {
        var tok = MODEL.get().tokenizer();
        assertArrayEquals(new int[]{1, 403, 407, 261, 378}, tok.encode("Once upon a time", true));
        assertArrayEquals(new int[]{1, 346, 306, 414, 263, 304, 341, 443}, tok.encode("Hello world!", true));
        assertArrayEquals(new int[]{1, 410, 198, 159, 416, 198, 178, 429, 198, 185, 418, 485, 410, 229, 159, 150, 410, 484, 479},
                tok.encode("Ünïcödé ✓ 42", true));
        assertEquals("Ünïcödé ✓ 42", tok.decode(tok.encode("Ünïcödé ✓ 42", true)));
    }

    @Test
    void greedyGenerationFromBosReproducesTheReference() {
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = MODEL.get().generate("", GenerationOptions.greedy(200), (id, text) -> streamed.append(text));
        String text = r.text();
        assertEquals(text, streamed.toString());
        int n = Math.min(text.length(), REFERENCE.length());
        assertTrue(n > 300, "generated only " + text.length() + " chars: " + text);
        assertEquals(REFERENCE.substring(0, n), text.substring(0, n));
    }

    @Test
    void perplexityFirstChunksMatchTheReference() throws Exception {
        int[] tokens = MODEL.tokenize(Shared.tinyStoriesDev());
        assertEquals(233_388, tokens.length);
        MODEL.checkPerplexity(tokens, 512, 1, 255, 3.398181, 1e-3);
        MODEL.checkPerplexity(tokens, 512, 10, 2550, 3.570940, 1e-3);
        MODEL.checkPerplexity(tokens, 256, 1, 127, 4.044411, 1e-3);
        MODEL.checkPerplexity(tokens, 256, 10, 1270, 3.497988, 1e-3);
    }
}
