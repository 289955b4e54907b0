package dev.nexusquant.engine.tokenizer;

import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;

/**
 * Text to token ids and back, as the model was trained. Built from a GGUF file's {@code tokenizer.ggml.*} metadata by
 * {@link #fromGguf(GgufFile)}: {@code llama} (SentencePiece-style BPE with scores) or {@code gpt2} (byte-level BPE with
 * merges).
 */
public interface Tokenizer {

    /** Token type ids of {@code tokenizer.ggml.token_type}. */
    int TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4, TYPE_UNUSED = 5, TYPE_BYTE = 6;

    /** The ids of {@code text}, with the BOS id first when {@code addBos}. Special-token text is not parsed. */
    int[] encode(String text, boolean addBos);

    /**
     * The ids of {@code text} that continues a text already encoded: no BOS, and nothing put in front of it (a
     * SentencePiece tokenizer's space prefix marks the start of a whole text, not of a continuation). Appending these
     * ids to the ids of the text before gives a valid encoding of the whole, though not always the one
     * {@link #encode} would choose (a merge across the seam is not made).
     */
    default int[] encodeContinuation(String text) {
        return encode(text, false);
    }

    /**
     * A lower bound on the number of ids {@link #encode} gives for {@code text} (BOS not counted), found without
     * encoding it, or 0 when the tokenizer cannot bound it. Encoding takes seconds per megabyte: a caller refuses a
     * text that cannot fit a context by this bound before it pays for the encoding.
     */
    default long minTokens(CharSequence text) {
        return 0;
    }

    /** The text of a sequence of ids. Control tokens (BOS, EOS) produce nothing; invalid UTF-8 becomes U+FFFD. */
    String decode(int[] ids);

    /** The bytes token {@code id} stands for (empty for control tokens). */
    byte[] tokenBytes(int id);

    /** The raw vocabulary entry of a token, as stored in the file. */
    String piece(int id);

    /** A decoder for streaming: feed it ids one at a time; it returns only whole UTF-8 characters. */
    default StreamDecoder streamDecoder() {
        return new StreamDecoder(this);
    }

    int bos();

    int eos();

    int vocabSize();

    /** {@code "llama"} or {@code "gpt2"}. */
    String model();

    /** Whether {@code id} is a control token (BOS, EOS, chat markers...). */
    boolean isControl(int id);

    /** Whether decoding strips the space that encoding puts in front of the text. */
    default boolean stripsLeadingSpace() {
        return false;
    }

    /** Builds the tokenizer a GGUF file describes. */
    static Tokenizer fromGguf(GgufFile f) throws GgufException {
        String model = f.getString("tokenizer.ggml.model");
        return switch (model) {
            case "llama" -> SentencePieceTokenizer.fromGguf(f);
            case "gpt2" -> Gpt2Tokenizer.fromGguf(f);
            default -> throw new GgufException("tokenizer.ggml.model", "unsupported tokenizer \"" + model
                    + "\" (supported: llama, gpt2)");
        };
    }

    /** Checks that {@code id} is a token of this vocabulary. */
    default void checkId(int id) {
        if (id < 0 || id >= vocabSize()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocabSize() + ")");
        }
    }
}
