package dev.nexusquant.engine.eval;

/**
 * The result of {@link Perplexity#evaluate}.
 *
 * @param ppl              exp(mean NLL)
 * @param nllPerToken      mean negative log-likelihood per scored token, in nats
 * @param nllStdError      standard error of the mean NLL (over scored tokens)
 * @param nCtx             tokens per chunk
 * @param chunks           chunks evaluated
 * @param scoredTokens     predictions scored ({@code chunks * (nCtx / 2 - 1)})
 * @param totalTokens      tokens of the whole text (BOS included)
 * @param seconds          wall time of the evaluation (tokenization excluded)
 * @param tokensPerSecond  tokens run through the model per second ({@code chunks * (nCtx - 1) / seconds})
 * @param kvBytes          mean bytes the KV cache held at the end of a chunk
 * @param kvFp16Bytes      mean bytes an fp16 cache would hold for the same tokens
 * @param kvRatio          total fp16 bytes / total bytes held (0 when nothing held)
 * @param keptTokens       mean tokens kept by the cache at the end of a chunk
 * @param cache            the factory's description
 */
public record PerplexityResult(double ppl, double nllPerToken, double nllStdError, int nCtx, int chunks,
                               long scoredTokens, long totalTokens, double seconds, double tokensPerSecond,
                               double kvBytes, double kvFp16Bytes, double kvRatio, double keptTokens, String cache) {
}
