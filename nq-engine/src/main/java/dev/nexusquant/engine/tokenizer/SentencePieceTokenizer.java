package dev.nexusquant.engine.tokenizer;

import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE ({@code tokenizer.ggml.model = llama}), as llama.cpp applies it.
 *
 * <p>Encoding: put one space in front of the text (when {@code add_space_prefix}, the default), replace every space by
 * {@code ▁} (U+2581), start from one symbol per Unicode character, and repeatedly merge the adjacent pair whose
 * concatenation is a vocabulary token with the highest score (ties: the leftmost pair). A final symbol that is not in
 * the vocabulary becomes one {@code <0xNN>} byte token per UTF-8 byte (or the unknown token without byte tokens).
 */
public final class SentencePieceTokenizer extends Vocabulary {

    private static final char SPACE_MARK = '\u2581';

    private final float[] scores;
    private final int[] byteTokens = new int[256];
    private final int unk;
    private final boolean addSpacePrefix;

    SentencePieceTokenizer(String[] pieces, float[] scores, int[] types, int bos, int eos, int unk, boolean addSpacePrefix) {
        super(pieces, types, bytesOf(pieces, types), bos, eos);
        this.scores = scores;
        this.unk = unk;
        this.addSpacePrefix = addSpacePrefix;
        Arrays.fill(byteTokens, -1);
        for (int i = 0; i < pieces.length; i++) {
            int b = byteValue(pieces[i]);
            if (b >= 0 && (types[i] == TYPE_BYTE || types[i] == TYPE_NORMAL) && byteTokens[b] < 0) byteTokens[b] = i;
        }
    }

    /** The bytes each token stands for. */
    private static byte[][] bytesOf(String[] pieces, int[] types) {
        byte[][] bytes = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) {
            int b = byteValue(pieces[i]);
            bytes[i] = switch (types[i]) {
                case TYPE_CONTROL, TYPE_UNUSED -> new byte[0];
                case TYPE_UNKNOWN -> "\u2585".getBytes(StandardCharsets.UTF_8); // as llama.cpp renders it
                case TYPE_BYTE -> b >= 0 ? new byte[]{(byte) b} : pieces[i].getBytes(StandardCharsets.UTF_8);
                default -> pieces[i].replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            };
        }
        return bytes;
    }

    static SentencePieceTokenizer fromGguf(GgufFile f) throws GgufException {
        String[] pieces = f.getStringArray("tokenizer.ggml.tokens");
        if (pieces.length == 0) throw new GgufException("tokenizer.ggml.tokens", "empty vocabulary");
        float[] scores = f.has("tokenizer.ggml.scores") ? f.getFloatArray("tokenizer.ggml.scores") : new float[pieces.length];
        if (scores.length != pieces.length) {
            throw new GgufException("tokenizer.ggml.scores", scores.length + " scores for " + pieces.length + " tokens");
        }
        int[] types = f.has("tokenizer.ggml.token_type") ? f.getIntArray("tokenizer.ggml.token_type") : defaultTypes(pieces.length);
        if (types.length != pieces.length) {
            throw new GgufException("tokenizer.ggml.token_type", types.length + " types for " + pieces.length + " tokens");
        }
        int n = pieces.length;
        int bos = f.getInt("tokenizer.ggml.bos_token_id", 0, n - 1, Math.min(1, n - 1));
        int eos = f.getInt("tokenizer.ggml.eos_token_id", 0, n - 1, Math.min(2, n - 1));
        int unk = f.getInt("tokenizer.ggml.unknown_token_id", 0, n - 1, 0);
        boolean addSpace = f.getBoolean("tokenizer.ggml.add_space_prefix", true);
        return new SentencePieceTokenizer(pieces, scores, types, bos, eos, unk, addSpace);
    }

    private static int[] defaultTypes(int n) {
        int[] t = new int[n];
        Arrays.fill(t, TYPE_NORMAL);
        return t;
    }

    /** 0..255 when {@code s} is {@code <0xNN>}, else -1. */
    static int byteValue(String s) {
        if (s.length() != 6 || !s.startsWith("<0x") || s.charAt(5) != '>') return -1;
        int hi = Character.digit(s.charAt(3), 16), lo = Character.digit(s.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** A bigram candidate: symbols {@code left} and {@code right}, whose joined text has {@code length} chars. */
    private record Bigram(int left, int right, float score, int length) {}

    @Override
    public int[] encode(String text, boolean addBos) {
        return encode(text, addBos, addSpacePrefix);
    }

    @Override
    public int[] encodeContinuation(String text) {
        return encode(text, false, false);
    }

    private int[] encode(String text, boolean addBos, boolean spacePrefix) {
        checkUnicode(text);
        if (text.isEmpty()) return addBos ? new int[]{bos} : new int[0]; // no space prefix for empty text (llama.cpp)
        String s = ((spacePrefix ? " " : "") + text).replace(' ', SPACE_MARK);
        // symbols: one per code point, as [start, start + len) of s, in a doubly linked list
        int n = s.codePointCount(0, s.length());
        int[] start = new int[n], len = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0, at = 0; i < n; i++) {
            int cp = s.codePointAt(at);
            start[i] = at;
            len[i] = Character.charCount(cp);
            at += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) addBigram(queue, s, start, len, i - 1, i);
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left, r = bg.right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.length || next[l] != r) continue; // stale
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            if (prev[l] >= 0) addBigram(queue, s, start, len, prev[l], l);
            if (next[l] >= 0) addBigram(queue, s, start, len, l, next[l]);
        }
        int[] out = new int[Math.max(16, 2 * n + 1)];
        int count = 0;
        if (addBos) out[count++] = bos;
        for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
            String sym = s.substring(start[i], start[i] + len[i]);
            Integer id = ids.get(sym);
            if (id != null) {
                if (count == out.length) out = Arrays.copyOf(out, 2 * out.length);
                out[count++] = id;
            } else {
                for (byte b : sym.getBytes(StandardCharsets.UTF_8)) {
                    if (count == out.length) out = Arrays.copyOf(out, 2 * out.length);
                    int bt = byteTokens[b & 0xFF];
                    out[count++] = bt >= 0 ? bt : unk;
                }
            }
        }
        return Arrays.copyOf(out, count);
    }

    private void addBigram(PriorityQueue<Bigram> queue, String s, int[] start, int[] len, int l, int r) {
        int length = len[l] + len[r];
        Integer id = ids.get(s.substring(start[l], start[l] + length));
        if (id != null) queue.add(new Bigram(l, r, scores[id], length));
    }

    static void checkUnicode(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException("text is not valid Unicode: lone surrogate at index " + i);
            }
        }
    }

    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    @Override
    public String model() {
        return "llama";
    }

    @Override
    public boolean stripsLeadingSpace() {
        return addSpacePrefix;
    }
}
