package dev.nexusquant.store.prefix;

import java.util.List;

/**
 * What one prefill through a {@link PrefixStore} did.
 *
 * @param promptTokens    tokens of the prompt
 * @param chunks          full chunks that could have been restored (those ending before the prompt's last token)
 * @param hits            chunks found and restored (always the first {@code hits} chunks)
 * @param misses          chunks looked up and not found (or found damaged: see {@code problems})
 * @param restoredTokens  tokens restored from the store ({@code hits * chunkTokens})
 * @param prefilledTokens tokens run through the model
 * @param stored          new chunks written to the store
 * @param bytesRead       bytes of the entries restored
 * @param bytesWritten    bytes of the entries written
 * @param lookupSeconds   time to fetch, check and replay the restored chunks
 * @param prefillSeconds  time to run the rest of the prompt through the model
 * @param storeSeconds    time to encode and write the new chunks
 * @param problems        what went wrong with the store, one line each (damaged entries, an unreachable server); the
 *                        prefill is then done by the model, never from a doubtful entry
 */
public record PrefixStats(int promptTokens, int chunks, int hits, int misses, int restoredTokens, int prefilledTokens,
                          int stored, long bytesRead, long bytesWritten, double lookupSeconds, double prefillSeconds,
                          double storeSeconds, List<String> problems) {

    public PrefixStats {
        problems = List.copyOf(problems);
    }

    /** Time until the logits of the prompt's last token were known: lookup plus prefill. */
    public double firstTokenSeconds() {
        return lookupSeconds + prefillSeconds;
    }

    /** One line for the console. */
    public String summary() {
        return String.format("kv-store: %d/%d chunks hit, %d missed, %d tokens restored, %d prefilled, %d chunks stored"
                        + " (%,d bytes read, %,d written); lookup %.3f s, prefill %.3f s, store %.3f s",
                hits, chunks, misses, restoredTokens, prefilledTokens, stored, bytesRead, bytesWritten, lookupSeconds,
                prefillSeconds, storeSeconds);
    }
}
