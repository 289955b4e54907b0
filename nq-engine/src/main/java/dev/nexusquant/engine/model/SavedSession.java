package dev.nexusquant.engine.model;

/**
 * What a saved session's header says, readable without restoring it ({@link Model#peek}): whose it is, which cache
 * it holds, and its tokens (the ids of positions {@code 0 .. tokens.length - 1}).
 *
 * @param model         the model it was saved from
 * @param cacheType     the cache's state type ({@code "dense"}, {@code "nexusquant"})
 * @param cacheSettings the cache's settings ({@code "fp32"}, or a compressed cache's canonical spec)
 * @param tokens        the token ids the session processed, in order
 */
public record SavedSession(ModelIdentity model, String cacheType, String cacheSettings, int[] tokens) {

    public SavedSession {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** The header with its token count (a record's own form would print the array's identity). */
    @Override
    public String toString() {
        return "SavedSession[model=" + model + ", cacheType=" + cacheType + ", cacheSettings=" + cacheSettings
                + ", tokens=" + tokens.length + "]";
    }

    /** Whether the saved tokens are a prefix of {@code prompt} (equal counts as a prefix). */
    public boolean isPrefixOf(int[] prompt) {
        if (tokens.length > prompt.length) return false;
        for (int i = 0; i < tokens.length; i++) if (tokens[i] != prompt[i]) return false;
        return true;
    }
}
