package dev.nexusquant.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Decodes tokens one at a time into text that is safe to print as it comes: bytes of a UTF-8 character split over
 * several byte-fallback tokens are held back until the character is whole. Not thread-safe.
 */
public final class StreamDecoder {

    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private boolean first;

    /** A decoder of a whole text: a SentencePiece space prefix on its first token is dropped, as {@code decode} does. */
    public StreamDecoder(Tokenizer tokenizer) {
        this(tokenizer, true);
    }

    /**
     * @param startOfText whether the first token starts the text (its space prefix dropped) or continues a text
     *                    already decoded (a generation after a prompt: its leading space is part of the text)
     */
    public StreamDecoder(Tokenizer tokenizer, boolean startOfText) {
        this.tokenizer = tokenizer;
        this.first = startOfText;
    }

    /** Whether every byte fed so far has been returned as text (no character is waiting for more bytes). */
    public boolean clean() {
        return pending.size() == 0;
    }

    /** Adds one token; returns the text completed by it (possibly empty). */
    public String next(int id) {
        tokenizer.checkId(id);
        byte[] b = tokenizer.tokenBytes(id);
        if (b.length == 0) return "";
        int start = 0;
        if (first) {
            first = false;
            if (tokenizer.stripsLeadingSpace() && b[0] == ' ') start = 1;
        }
        pending.write(b, start, b.length - start);
        return drain(false);
    }

    /** Returns what is left (an incomplete character becomes U+FFFD). */
    public String flush() {
        return drain(true);
    }

    private String drain(boolean all) {
        byte[] buf = pending.toByteArray();
        int complete = all ? buf.length : completePrefix(buf);
        if (complete == 0) return "";
        String s = new String(buf, 0, complete, StandardCharsets.UTF_8);
        pending.reset();
        pending.write(buf, complete, buf.length - complete);
        return s;
    }

    /** Length of the longest prefix of {@code b} that does not end inside a (possibly valid) UTF-8 sequence. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // look back at most 3 bytes for the start of a multi-byte sequence
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
