package dev.nexusquant.engine.tokenizer;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufWriter;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTest {

    @TempDir
    Path dir;

    Tokenizer load(GgufWriter w) throws Exception {
        Path p = dir.resolve("t" + System.nanoTime() + ".gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            return Tokenizer.fromGguf(f);
        }
    }

    @Test
    void sentencePieceMergesByScoreAndFallsBackToBytes() throws Exception {
        // vocabulary: <unk> <s> </s>, bytes, then pieces whose scores decide the merges
        GgufWriter w = new GgufWriter().putString("tokenizer.ggml.model", "llama");
        List<String> pieces = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        String[] normal = {"▁", "a", "b", "c", "ab", "bc", "▁a", "▁ab", "abc"};
        float[] sc = {-1, -2, -3, -4, -5, -1, -6, -7, -0.5f};
        for (String n : normal) {
            pieces.add(n);
            types.add(1);
        }
        float[] scores = new float[pieces.size()];
        for (int i = 0; i < normal.length; i++) scores[259 + i] = sc[i];
        w.putStrings("tokenizer.ggml.tokens", pieces.toArray(new String[0])).putFloats("tokenizer.ggml.scores", scores)
                .putInts("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
        Tokenizer t = load(w);
        int id = 259;
        int SP = id, SPAB = id + 7, ABC = id + 8;
        // "▁abc": pairs ▁a(-6) ab(-5) bc(-1): bc merges first (highest score), then a+bc = abc (-0.5); ▁abc is no token
        assertArrayEquals(new int[]{1, SP, ABC}, t.encode("abc", true));
        // "ab" -> ▁a ab... pairs ▁a(-6), ab(-5): ab first, then ▁+ab -> "▁ab"(-7)
        assertArrayEquals(new int[]{SPAB}, t.encode("ab", false));
        // é is not in the vocabulary: its two UTF-8 bytes
        assertArrayEquals(new int[]{SP, 3 + 0xC3, 3 + 0xA9}, t.encode("é", false));
        assertEquals("abc é", t.decode(t.encode("abc é", true)));
        assertArrayEquals(new int[]{1}, t.encode("", true));
        // a continuation gets no space prefix: "ab" alone is ab, not ▁ab; "abc" after a text is abc, not ▁ + abc
        int AB = id + 4;
        assertArrayEquals(new int[]{AB}, t.encodeContinuation("ab"));
        assertArrayEquals(new int[]{ABC}, t.encodeContinuation("abc"));
        assertArrayEquals(new int[]{SP, ABC}, t.encodeContinuation(" abc"));
        assertArrayEquals(new int[0], t.encodeContinuation(""));
        assertEquals("x abc", t.decode(concat(t.encode("x", false), t.encodeContinuation(" abc"))));
        assertThrows(IllegalArgumentException.class, () -> t.encode("bad \uD800 surrogate", true));
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[]{99999}));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void streamDecoderHoldsSplitCharacters() throws Exception {
        Tokenizer t = load(RandomModel.llama(2, 1, 16, GgmlType.F32).vocab(360).writer());
        String text = "a ✓ é 😀 b";
        int[] ids = t.encode(text, true);
        StreamDecoder d = t.streamDecoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String piece = d.next(id);
            assertEquals(piece, new String(piece.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
            assertEquals(-1, piece.indexOf('\uFFFD'), "no replacement characters while streaming");
            sb.append(piece);
        }
        sb.append(d.flush());
        assertEquals(text, sb.toString());
        assertEquals(text, t.decode(ids));
        assertTrue(d.clean());
        // a decoder that continues a text keeps the space in front of its first token
        StreamDecoder c = new StreamDecoder(t, false);
        int[] word = t.encodeContinuation(" b");
        StringBuilder cont = new StringBuilder();
        for (int id : word) cont.append(c.next(id));
        assertEquals(" b", cont.toString());
        // the first byte of a split character leaves the decoder unclean until the character is whole
        StreamDecoder split = new StreamDecoder(t, false);
        int[] smile = t.encodeContinuation("😀");
        if (smile.length > 1) {
            split.next(smile[0]);
            assertFalse(split.clean());
        }
    }

    @Test
    void sentencePieceRoundTripsRandomText() throws Exception {
        Tokenizer t = load(RandomModel.llama(2, 1, 16, GgmlType.F32).vocab(400).writer());
        Random r = new Random(11);
        String alphabet = "abcdefghij the once upon a time, THERE! 123\n\téü✓😀";
        for (int k = 0; k < 300; k++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(40);
            for (int i = 0; i < n; i++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            String s = sb.toString();
            assertEquals(s, t.decode(t.encode(s, true)), "round trip of [" + s + "]");
        }
    }

    @Test
    void llama3AndQwen2PreTokenizerSplits() {
        assertEquals(List.of("Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " x"),
                split(Gpt2Tokenizer.PreTokenizer.LLAMA3, "Hello world's 12345 !!\n\n  x"));
        assertEquals(List.of("Hello", " world", "'S", " ", "1", "2", "3"), split(Gpt2Tokenizer.PreTokenizer.QWEN2, "Hello world'S 123"));
        assertEquals(List.of("Hello", " world", "'s", " 12345", " !!"), split(Gpt2Tokenizer.PreTokenizer.GPT2, "Hello world's 12345 !!"));
    }

    static List<String> split(Gpt2Tokenizer.PreTokenizer p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.pattern.matcher(s);
        while (m.find()) out.add(m.group());
        return out;
    }

    @Test
    void gpt2MergesByRankAndRoundTripsBytes() throws Exception {
        Tokenizer t = load(RandomModel.qwen2(2, 1, 16, GgmlType.F32).vocab(400).writer());
        assertEquals("gpt2", t.model());
        // " the" is spelled by the merges Ġ t, Ġt h, Ġth e: one token
        int[] ids = t.encode(" the", false);
        assertEquals(1, ids.length);
        assertEquals("Ġthe", t.piece(ids[0]));
        assertEquals(t.bos(), t.encode("x", true)[0]);
        Random r = new Random(5);
        for (int k = 0; k < 200; k++) {
            byte[] b = new byte[r.nextInt(30)];
            for (int i = 0; i < b.length; i++) b[i] = (byte) (32 + r.nextInt(95));
            String s = new String(b, StandardCharsets.US_ASCII) + (k % 3 == 0 ? " ünï ✓ 😀\r\n" : "");
            assertEquals(s, t.decode(t.encode(s, false)));
        }
        assertArrayEquals(new int[0], t.encode("", false));
    }

    @Test
    void minTokensNeverExceedsTheEncodingOnRandomText() throws Exception {
        // the bound refuses a prompt too long for the context before it is encoded, so it must never overshoot
        Tokenizer[] ts = {load(RandomModel.llama(2, 1, 16, GgmlType.F32).vocab(400).writer()),
                load(RandomModel.qwen2(2, 1, 16, GgmlType.F32).vocab(400).writer())};
        Random r = new Random(20261204);
        String alphabet = "aaaaaaaaaabbbbbbbb the the the once upon a time, THERE! 123\n\t   éü✓😀<0x0A><s>";
        for (Tokenizer t : ts) {
            assertTrue(t.minTokens("x".repeat(10_000)) > 1, t.model() + ": a bound that says something");
            for (int k = 0; k < 400; k++) {
                StringBuilder sb = new StringBuilder();
                int n = r.nextInt(k < 200 ? 40 : 4000);
                for (int i = 0; i < n; i++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
                String text = sb.toString();
                long bound = t.minTokens(text);
                int actual = t.encode(text, false).length;
                assertTrue(bound <= actual, t.model() + ": bound " + bound + " > " + actual + " ids for [" + text + "]");
                assertTrue(text.isEmpty() || bound >= 1, "a text of " + text.length() + " chars");
            }
        }
    }
}
