package dev.nexusquant.server.chat;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Recent conversations as text and the token ids the model saw for that text, so that a client that resends a
 * conversation (its whole history and a new turn, as OpenAI clients do) gets the same ids for the part already seen.
 *
 * <p>Why: a conversation's cache holds the ids of its prompt and of the tokens it generated. Tokenizing the resent
 * text from scratch does not give those ids back: the model may have generated a spelling that the tokenizer would
 * not choose (" bl" + "ue" where encoding gives " blue"), and a SentencePiece tokenizer puts a space in front of a
 * text. The ids would differ from the first such token on, and the live cache could not be continued. So
 * {@link #encode} looks for the longest recorded text that is a prefix of the prompt, takes its ids, and encodes only
 * the rest as a continuation ({@link PromptTokenizer#encodeContinuation}); {@link #record} keeps a turn's text
 * (prompt and answer) with its ids. The ids of a resent history are then the same whether or not its cache is still
 * in memory, so a conversation gets the same answers however busy the server is.
 *
 * <p>Lookup costs one pass over the prompt: {@link String#hashCode()} of every prefix whose length is that of some
 * recorded text is computed on the way and looked up. Bounded in entries and bytes; least recently used go first.
 * Thread-safe.
 */
public final class Transcripts {

    /** A prompt's ids, of which the first {@code reused} came from a recorded transcript. */
    public record Encoded(int[] tokens, int reused) {
    }

    private record Key(boolean special, int length, int hash) {
    }

    private record Transcript(String text, int[] tokens) {
        long bytes() {
            return 2L * text.length() + 4L * tokens.length + 96;
        }
    }

    private final PromptTokenizer tokenizer;
    private final int maxEntries;
    private final long maxBytes;
    private final LinkedHashMap<Key, Transcript> entries = new LinkedHashMap<>(64, 0.75f, true);
    /** Text length -> how many recorded texts have it, per special mode. */
    private final Map<Boolean, TreeMap<Integer, Integer>> lengths = new HashMap<>();
    private long bytes;
    private long hits, misses;

    /**
     * @param maxEntries transcripts kept at most
     * @param maxBytes   their text and ids together at most (UTF-16 chars and ints counted)
     */
    public Transcripts(PromptTokenizer tokenizer, int maxEntries, long maxBytes) {
        if (maxEntries < 1 || maxBytes < 1) throw new IllegalArgumentException("transcript bounds must be positive");
        this.tokenizer = tokenizer;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        lengths.put(true, new TreeMap<>());
        lengths.put(false, new TreeMap<>());
    }

    public PromptTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The ids of a whole prompt: those of the longest recorded text that begins it, then the rest encoded as its
     * continuation; or the whole text encoded when no recorded text begins it.
     *
     * @param special whether control-token text becomes control tokens (recorded texts of the other mode are not used)
     * @throws IllegalArgumentException for text the tokenizer rejects
     */
    public Encoded encode(String text, boolean special) {
        Transcript best = longestPrefix(text, special);
        if (best == null) return new Encoded(tokenizer.encode(text, special), 0);
        String rest = text.substring(best.text().length());
        if (rest.isEmpty()) return new Encoded(best.tokens().clone(), best.tokens().length);
        int last = best.tokens()[best.tokens().length - 1];
        int[] more = tokenizer.encodeContinuation(rest, special, tokenizer.tokenizer().isControl(last));
        int[] all = Arrays.copyOf(best.tokens(), best.tokens().length + more.length);
        System.arraycopy(more, 0, all, best.tokens().length, more.length);
        return new Encoded(all, best.tokens().length);
    }

    private synchronized Transcript longestPrefix(String text, boolean special) {
        TreeMap<Integer, Integer> lens = lengths.get(special);
        Transcript best = null;
        int h = 0, at = 0;
        for (int len : lens.headMap(text.length(), true).keySet()) {
            while (at < len) h = 31 * h + text.charAt(at++);
            Transcript t = entries.get(new Key(special, len, h)); // access order: a hit is recently used
            if (t != null && text.startsWith(t.text())) best = t;
        }
        if (best == null) misses++;
        else hits++;
        return best;
    }

    /**
     * Keeps {@code text} with its ids (the prompt's and the answer's that the turn fed or generated). A text longer
     * than the byte bound, or empty, is not kept.
     */
    public synchronized void record(String text, int[] tokens, boolean special) {
        if (text.isEmpty() || tokens.length == 0) return;
        Transcript t = new Transcript(text, tokens.clone());
        if (t.bytes() > maxBytes) return;
        Key k = new Key(special, text.length(), text.hashCode());
        Transcript old = entries.put(k, t);
        if (old != null) bytes -= old.bytes();
        else lengths.get(special).merge(text.length(), 1, Integer::sum);
        bytes += t.bytes();
        Iterator<Map.Entry<Key, Transcript>> it = entries.entrySet().iterator();
        while ((entries.size() > maxEntries || bytes > maxBytes) && it.hasNext()) {
            Map.Entry<Key, Transcript> e = it.next();
            if (e.getKey().equals(k)) continue;
            it.remove();
            forget(e.getKey(), e.getValue());
        }
    }

    private void forget(Key k, Transcript t) {
        bytes -= t.bytes();
        lengths.get(k.special()).computeIfPresent(k.length(), (l, n) -> n == 1 ? null : n - 1);
    }

    public synchronized int size() {
        return entries.size();
    }

    public synchronized long bytes() {
        return bytes;
    }

    /** Prompts that began with a recorded text. */
    public synchronized long hits() {
        return hits;
    }

    public synchronized long misses() {
        return misses;
    }
}
