package dev.nexusquant.engine.model;

/** Receives generated tokens as they come. */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param id   the token id
     * @param text the text this token completes: whole UTF-8 characters only, possibly empty when the token is the
     *             first byte of a character that continues in the next token
     */
    void onToken(int id, String text);

    TokenListener NONE = (id, text) -> { };
}
