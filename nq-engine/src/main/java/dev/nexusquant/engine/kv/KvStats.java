package dev.nexusquant.engine.kv;

/**
 * What a KV cache holds, measured from the arrays it really allocated.
 *
 * @param tokensSeen   tokens appended so far (per layer)
 * @param tokensKept   tokens still held, averaged over layers and KV heads where eviction differs between them
 * @param bytes        bytes the cache holds: every code, scale, position, window and header
 * @param fp16Bytes    bytes a plain fp16 cache would hold for every token seen
 * @param values       number of cached scalar values an fp16 cache would hold (tokensSeen x layers x 2 x kvDim)
 */
public record KvStats(long tokensSeen, double tokensKept, long bytes, long fp16Bytes, long values) {

    /** fp16 bytes divided by bytes held; 0 when empty. */
    public double ratio() {
        return bytes == 0 ? 0.0 : (double) fp16Bytes / bytes;
    }

    /** Bits held per value seen (16 for an fp16 cache). */
    public double bitsPerValue() {
        return values == 0 ? 0.0 : 8.0 * bytes / values;
    }

    /** The record's fields with the two derived figures: {@code ..., ratio=16.13x, bitsPerValue=0.99]}. */
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "KvStats[tokensSeen=%d, tokensKept=%.1f, bytes=%d, fp16Bytes=%d, values=%d, ratio=%.2fx, bitsPerValue=%.2f]",
                tokensSeen, tokensKept, bytes, fp16Bytes, values, ratio(), bitsPerValue());
    }
}
