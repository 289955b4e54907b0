package dev.nexusquant.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * What the two tokenizers share: the vocabulary as the GGUF file stores it (pieces, token types, BOS and EOS), the
 * bytes each token stands for, the lookup from piece to id, and decoding. The tokenizers differ in how they encode.
 */
abstract sealed class Vocabulary implements Tokenizer permits SentencePieceTokenizer, Gpt2Tokenizer {

    /** [vocab] the raw entries. */
    final String[] pieces;
    /** [vocab] {@code TYPE_*} of each token. */
    final int[] types;
    /** [vocab] the bytes each token stands for (empty for control and unused tokens). */
    final byte[][] bytes;
    /** Piece to id (the first id of a piece that appears twice). */
    final Map<String, Integer> ids;
    final int bos, eos;
    /** The most UTF-16 chars of one entry (at least 1). */
    private final int longestPiece;

    Vocabulary(String[] pieces, int[] types, byte[][] bytes, int bos, int eos) {
        this.pieces = pieces;
        this.types = types;
        this.bytes = bytes;
        this.bos = bos;
        this.eos = eos;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) ids.putIfAbsent(pieces[i], i);
        int longest = 1;
        for (String p : pieces) longest = Math.max(longest, p.length());
        this.longestPiece = longest;
    }

    /**
     * Every id stands for at most {@link #longestPiece} chars of the text: SentencePiece entries spell a space as one
     * char ({@code ▁}) and fall back to one id per byte, and GPT-2 entries spell each byte as one char, while every char
     * of the text is at least one byte and the pre-tokenizers' splits cover every char.
     */
    @Override
    public long minTokens(CharSequence text) {
        return (text.length() + (long) longestPiece - 1) / longestPiece;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean strip = stripsLeadingSpace();
        boolean first = true;
        for (int id : ids) {
            checkId(id);
            byte[] b = bytes[id];
            if (b.length == 0) continue;
            int from = first && strip && b[0] == ' ' ? 1 : 0;
            first = false;
            out.write(b, from, b.length - from);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return bytes[id].clone();
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public boolean isControl(int id) {
        checkId(id);
        return types[id] == TYPE_CONTROL;
    }
}
