package dev.nexusquant.server.generation;

import java.util.List;

/**
 * How one turn samples.
 *
 * @param maxTokens   tokens to generate at most
 * @param temperature 0 is greedy
 * @param topP        nucleus threshold, (0, 1]
 * @param seed        seed of the sampler (a turn with the same cache state, prompt and seed gives the same text)
 * @param stop        stop sequences: the text ends before the first one that appears
 */
public record Sampling(int maxTokens, float temperature, float topP, long seed, List<String> stop) {

    public Sampling {
        if (maxTokens < 0) throw new IllegalArgumentException("maxTokens < 0");
        stop = List.copyOf(stop);
    }
}
