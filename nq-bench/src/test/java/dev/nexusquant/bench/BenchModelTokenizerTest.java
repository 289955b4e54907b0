package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Llama-3-style vocabulary of {@link BenchModel} (128,256 tokens, ~128,000 merges, llama-bpe pre-tokenizer): ids
 * from this engine's gpt2 tokenizer equal those printed by llama.cpp's {@code llama-tokenize -m FILE -p TEXT --ids}
 * (build 34af94cd9) on the written model.
 */
class BenchModelTokenizerTest {

    @Test
    void idsMatchLlamaCpp(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("vocab.gguf");
        BenchModel.tokenizerOnly().write(p);
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer t = Tokenizer.fromGguf(f);
            assertEquals(128_256, t.vocabSize());
            assertArrayEquals(new int[]{128000, 84, 104, 101, 32, 113, 117, 105, 99, 107, 32, 98, 114, 111, 119, 110, 1725, 111,
                    120, 32, 106, 117, 109, 112, 115, 32, 111, 118, 101, 114, 32, 3540, 101, 32, 108, 97, 122, 121, 394, 111, 103, 46},
                    t.encode("The quick brown fox jumps over the lazy dog.", true));
            assertArrayEquals(new int[]{128000, 3136, 108, 108, 111, 32, 119, 111, 114, 108, 100, 39, 115, 32, 49, 50, 51, 52, 53,
                    32, 33, 33, 10, 10, 32, 32, 120}, t.encode("Hello world's 12345 !!\n\n  x", true));
            assertArrayEquals(new int[]{128000, 195, 156, 110, 195, 175, 99, 195, 182, 100, 195, 169, 32, 226, 156, 147, 32, 52,
                    50, 32, 240, 159, 152, 128, 394, 111, 110, 39, 116}, t.encode("Ünïcödé ✓ 42 😀 don't", true));
            assertEquals("Ünïcödé ✓ 42 😀 don't", t.decode(t.encode("Ünïcödé ✓ 42 😀 don't", false)));
        }
    }
}
