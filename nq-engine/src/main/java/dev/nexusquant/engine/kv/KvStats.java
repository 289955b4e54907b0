package dev.nexusquant.engine.kv;

/**
 * What a KV cache holds, measured from the arrays it really allocated.
 *
 * @param tokensSeen   tokens appended so far (per layer)
 * @param tokensKept   tokens still held, averaged over layers and KV heads where eviction differs between them
 * @param bytes        bytes the cache holds: every code, scale, position, window and header
 * @param fp16Bytes    bytes a plain fp16 cache would hold for every token seen
 * @param values       number of cached scalar values an fp16 cache would hold (tokensSeen x layers x 2 x kvDim)
 * @param note         empty, or one line saying where the cache does something other than its settings say (a
 *                     compressed cache with {@code basis=auto} built without a model: the Hadamard rotation instead)
 */
public record KvStats(long tokensSeen, double tokensKept, long bytes, long fp16Bytes, long values, String note) {

    public KvStats {
        if (note == null) throw new IllegalArgumentException("KvStats: null note (empty when there is nothing to say)");
    }

    /** Stats with nothing to note. */
    public KvStats(long tokensSeen, double tokensKept, long bytes, long fp16Bytes, long values) {
        this(tokensSeen, tokensKept, bytes, fp16Bytes, values, "");
    }

    /** fp16 bytes divided by bytes held; 0 when empty. */
    public double ratio() {
        return bytes == 0 ? 0.0 : (double) fp16Bytes / bytes;
    }

    /** Bits held per value seen (16 for an fp16 cache). */
    public double bitsPerValue() {
        return values == 0 ? 0.0 : 8.0 * bytes / values;
    }

    /**
     * The record's fields with the two derived figures: {@code ..., ratio=16.13x, bitsPerValue=0.99]}, and the note
     * when there is one ({@code ..., note=...]}).
     */
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "KvStats[tokensSeen=%d, tokensKept=%.1f, bytes=%d, fp16Bytes=%d, values=%d, ratio=%.2fx, bitsPerValue=%.2f%s]",
                tokensSeen, tokensKept, bytes, fp16Bytes, values, ratio(), bitsPerValue(), note.isEmpty() ? "" : ", note=" + note);
    }
}
