package dev.nexusquant.engine.model;

/**
 * How {@link Model#generate} samples.
 *
 * @param maxTokens   tokens to generate at most (generation also stops at EOS and at the context length)
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before the softmax
 * @param topP        nucleus sampling: sample among the most likely tokens whose probabilities add up to this (1 = all)
 * @param seed        seed of the sampler's random generator
 * @param addBos      whether the prompt starts with the BOS token
 */
public record GenerationOptions(int maxTokens, float temperature, float topP, long seed, boolean addBos) {

    public static final int MAX_TOKENS_LIMIT = 1 << 24;

    public GenerationOptions {
        if (maxTokens < 0 || maxTokens > MAX_TOKENS_LIMIT) {
            throw new IllegalArgumentException("max tokens must be in 0.." + MAX_TOKENS_LIMIT + ", is " + maxTokens);
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature) || temperature > 100) {
            throw new IllegalArgumentException("temperature must be in [0, 100], is " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], is " + topP);
        }
    }

    /** Greedy decoding of at most {@code maxTokens} tokens. */
    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, 0f, 1f, 0L, true);
    }

    public GenerationOptions withMaxTokens(int n) {
        return new GenerationOptions(n, temperature, topP, seed, addBos);
    }

    public GenerationOptions withTemperature(float t) {
        return new GenerationOptions(maxTokens, t, topP, seed, addBos);
    }

    public GenerationOptions withTopP(float p) {
        return new GenerationOptions(maxTokens, temperature, p, seed, addBos);
    }

    public GenerationOptions withSeed(long s) {
        return new GenerationOptions(maxTokens, temperature, topP, s, addBos);
    }
}
