package dev.nexusquant.engine.model;

import dev.nexusquant.engine.kv.KvStats;

/**
 * What {@link Model#generate} produced and how fast.
 *
 * @param text            the generated text (the prompt not included)
 * @param promptTokens    ids of the prompt, BOS included when added
 * @param tokens          ids generated (EOS not included)
 * @param stopReason      why generation stopped
 * @param prefillSeconds  time of the prompt's forward pass
 * @param decodeSeconds   time of the forward passes (and sampling) of generated tokens
 * @param decodeSteps     forward passes of single generated tokens timed in {@code decodeSeconds}
 * @param kvStats         the KV cache at the end
 */
public record GenerationResult(String text, int[] promptTokens, int[] tokens, StopReason stopReason,
                               double prefillSeconds, double decodeSeconds, int decodeSteps, KvStats kvStats) {

    public enum StopReason { EOS, MAX_TOKENS, CONTEXT_FULL }

    public double prefillTokensPerSecond() {
        return prefillSeconds > 0 ? promptTokens.length / prefillSeconds : 0;
    }

    public double decodeTokensPerSecond() {
        return decodeSeconds > 0 ? decodeSteps / decodeSeconds : 0;
    }
}
