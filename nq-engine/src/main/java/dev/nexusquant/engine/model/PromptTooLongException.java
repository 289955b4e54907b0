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

    public int tokens() {
        return tokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
