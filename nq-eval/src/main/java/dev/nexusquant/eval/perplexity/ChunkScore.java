package dev.nexusquant.eval.perplexity;

/**
 * One chunk's outcome.
 *
 * @param chunk      chunk index in the text
 * @param nll        summed NLL of the scored predictions, nats (double)
 * @param nll2       summed squared NLL
 * @param scored     predictions scored
 * @param bytes      bytes the cache held for the rows the ratio is over (see {@link Protocol})
 * @param fp16Bytes  bytes an fp16 cache would hold for those rows
 * @param kept       tokens kept per (layer, KV head), mean, at the point the ratio is taken
 * @param allocation the cache's allocation report (empty when it has none)
 */
public record ChunkScore(int chunk, double nll, double nll2, int scored, long bytes, long fp16Bytes, double kept,
                         String allocation) {

    public double ppl() {
        return Math.exp(nll / scored);
    }

    public double ratio() {
        return bytes == 0 ? 0 : (double) fp16Bytes / bytes;
    }
}
