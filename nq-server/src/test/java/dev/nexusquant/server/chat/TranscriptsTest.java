package dev.nexusquant.server.chat;

import dev.nexusquant.engine.tokenizer.Tokenizer;
import dev.nexusquant.server.TestServers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Transcripts on stories260K's SentencePiece tokenizer (space prefix, byte fallback). */
class TranscriptsTest extends dev.nexusquant.server.OnStories260K {

    static Tokenizer tok;
    static PromptTokenizer prompts;

    @BeforeAll
    static void load() throws Exception {
        tok = model.tokenizer();
        prompts = new PromptTokenizer(tok);
    }


    static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** The ids of {@code text} one character at a time: a valid spelling that encoding never chooses. */
    static int[] spelled(String text) {
        int[] out = new int[0];
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            out = concat(out, tok.encodeContinuation(Character.toString(text.codePointAt(i))));
        }
        return out;
    }

    @Test
    void withoutTranscriptsAPromptIsEncodedWhole() {
        Transcripts t = new Transcripts(prompts, 16, 1 << 20);
        Transcripts.Encoded e = t.encode("Once upon a time", false);
        assertArrayEquals(prompts.encode("Once upon a time", false), e.tokens());
        assertEquals(0, e.reused());
        assertEquals(1, t.misses());
    }

    @Test
    void aResentTextGetsTheRecordedIdsAndItsNewPartAsAContinuation() {
        Transcripts t = new Transcripts(prompts, 16, 1 << 20);
        String turn1 = "User: Where is the cat?\nAssistant:";
        int[] p1 = prompts.encode(turn1, false);
        // the answer as the model might have spelled it: not how encoding would spell it
        String answer = " The cat is in the tree.";
        int[] a1 = spelled(answer);
        assertNotEquals(Arrays.toString(tok.encodeContinuation(answer)), Arrays.toString(a1));
        t.record(turn1 + answer, concat(p1, a1), false);

        String turn2 = turn1 + answer + "\nUser: And the dog?\nAssistant:";
        Transcripts.Encoded e = t.encode(turn2, false);
        int[] held = concat(p1, a1);
        assertEquals(held.length, e.reused());
        assertArrayEquals(held, Arrays.copyOf(e.tokens(), held.length), "the ids already in the cache come back");
        assertArrayEquals(tok.encodeContinuation("\nUser: And the dog?\nAssistant:"),
                Arrays.copyOfRange(e.tokens(), held.length, e.tokens().length), "the rest without a space prefix");
        assertEquals(turn2, tok.decode(e.tokens()));
        // encoded from scratch, the same text would not begin with the held ids
        int[] fresh = prompts.encode(turn2, false);
        assertNotEquals(Arrays.toString(held), Arrays.toString(Arrays.copyOf(fresh, held.length)));
        assertEquals(1, t.hits());
    }

    @Test
    void theLongestRecordedPrefixWinsAndModesAreSeparate() {
        Transcripts t = new Transcripts(prompts, 16, 1 << 20);
        String a = "Once upon a time";
        String b = a + " there was";
        t.record(a, spelled(a), false);
        t.record(b, concat(spelled(a), spelled(" there was")), false);
        t.record("Once", spelled("Once"), false);
        String text = b + " a cat.";
        Transcripts.Encoded e = t.encode(text, false);
        assertEquals(spelled(a).length + spelled(" there was").length, e.reused());
        assertEquals(text, tok.decode(e.tokens()));
        // a text equal to a recorded one: its ids
        assertArrayEquals(spelled("Once"), t.encode("Once", false).tokens());
        // prompts whose control-token text is parsed do not use texts recorded without, and the other way round
        assertEquals(0, t.encode(text, true).reused());
        // a text that only shares part of a recorded one does not use it
        assertEquals(spelled("Once").length, t.encode("Once upon a tim", false).reused());
        assertEquals(0, t.encode("On a hill", false).reused());
    }

    @Test
    void leastRecentlyUsedGoFirstWithinTheBounds() {
        Transcripts t = new Transcripts(prompts, 3, 1 << 20);
        for (String s : new String[]{"Alpha", "Beta", "Gamma"}) t.record(s, spelled(s), false);
        assertEquals(spelled("Alpha").length, t.encode("Alpha!", false).reused()); // now the most recently used
        t.record("Delta", spelled("Delta"), false);
        assertEquals(3, t.size());
        assertEquals(0, t.encode("Beta!", false).reused(), "Beta was the least recently used");
        assertTrue(t.encode("Alpha!", false).reused() > 0);
        assertTrue(t.encode("Gamma!", false).reused() > 0);
        // the byte bound
        Transcripts small = new Transcripts(prompts, 100, 400);
        for (int i = 0; i < 20; i++) small.record("text number " + i, spelled("text number " + i), false);
        assertTrue(small.bytes() <= 400, small.bytes() + " bytes");
        assertTrue(small.size() >= 1 && small.size() < 20);
        assertTrue(small.encode("text number 19 and more", false).reused() > 0, "the newest is kept");
        small.record("x".repeat(1000), spelled("x".repeat(1000)), false); // larger than the bound: not kept
        assertEquals(0, small.encode("x".repeat(1001), false).reused());
    }

    @Test
    void randomSplitsAlwaysDecodeToTheText() {
        SplittableRandom r = new SplittableRandom(3);
        String alphabet = "abcdefghij the once upon a time, THERE! 123\n\téü✓😀";
        for (int k = 0; k < 200; k++) {
            Transcripts t = new Transcripts(prompts, 8, 1 << 20);
            StringBuilder sb = new StringBuilder("Once");
            int n = 1 + r.nextInt(40);
            for (int i = 0; i < n; i++) {
                int cp = alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length()))));
                sb.appendCodePoint(cp);
            }
            String text = sb.toString();
            int cut = r.nextInt(text.length() + 1);
            if (cut > 0 && cut < text.length() && Character.isHighSurrogate(text.charAt(cut - 1))) cut--;
            String head = text.substring(0, cut);
            if (!head.isEmpty()) {
                int[] ids = r.nextBoolean() ? prompts.encode(head, false) : concat(new int[]{tok.bos()}, spelled(head));
                t.record(head, ids, false);
            }
            Transcripts.Encoded e = t.encode(text, false);
            assertEquals(text, tok.decode(e.tokens()), "text [" + text + "] cut at " + cut);
            assertEquals(tok.bos(), e.tokens()[0]);
        }
    }
}
