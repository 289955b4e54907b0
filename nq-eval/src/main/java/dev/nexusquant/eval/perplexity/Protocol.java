package dev.nexusquant.eval.perplexity;

import java.util.Locale;

/**
 * How a compressing cache is measured on a chunk whose first half is prefilled and compressed and whose second half
 * is teacher-forced and scored.
 */
public enum Protocol {
    /**
     * The prompt's half is compressed once ({@code endOfPrompt}, then {@code freeze}); the continuation's own rows
     * stay in full precision; the ratio is over the prompt's rows, measured right after the compression. How the
     * original NexusQuant and kvpress measure.
     */
    CONTEXT,
    /**
     * The continuation is compressed too as it ages (the cache sees it a block at a time, as generation would); the
     * ratio is over every row at the end of the chunk.
     */
    STREAMING;

    /** {@code context} or {@code streaming}; IllegalArgumentException naming the choices otherwise. */
    public static Protocol parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown protocol '" + s + "' (context, streaming)");
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
