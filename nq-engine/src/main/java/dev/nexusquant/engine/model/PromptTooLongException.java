package dev.nexusquant.engine.model;

/** A prompt does not fit in the model's context. */
public final class PromptTooLongException extends IllegalArgumentException {

    private final int tokens;
    private final int contextLength;

    public PromptTooLongException(int tokens, int contextLength) {
        super("the prompt is " + tokens + " tokens, longer than the model's context of " + contextLength + " tokens");
        this.tokens = tokens;
        this.contextLength = contextLength;
    }

    /** A prompt of {@code chars} chars that is at least {@code minTokens} tokens, known without encoding it. */
    public PromptTooLongException(long minTokens, long chars, int contextLength) {
        super("the prompt is at least " + minTokens + " tokens (" + chars + " characters, not encoded), longer than the model's context of "
                + contextLength + " tokens");
        this.tokens = (int) Math.min(Integer.MAX_VALUE, minTokens);
        this.contextLength = contextLength;
    }

    /** The prompt's tokens, or a lower bound on them when it was refused without encoding. */
    public int tokens() {
        return tokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
