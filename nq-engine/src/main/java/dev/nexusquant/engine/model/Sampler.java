package dev.nexusquant.engine.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from logits: argmax at temperature 0, else softmax with temperature and top-p (nucleus). */
public final class Sampler {

    private final float temperature;
    private final float topP;
    private final SplittableRandom random;

    public Sampler(float temperature, float topP, long seed) {
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** The index of the largest logit (the lowest index among equals). */
    public static int argmax(float[] logits, int off, int n) {
        int best = 0;
        float max = logits[off];
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > max) {
                max = logits[off + i];
                best = i;
            }
        }
        return best;
    }

    /** Samples a token from {@code logits[off .. off + n)}. */
    public int sample(float[] logits, int off, int n) {
        if (temperature == 0f) return argmax(logits, off, n);
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[off + i] - max) / temperature);
            sum += p[i];
        }
        double u = random.nextDouble();
        if (topP >= 1f) {
            double target = u * sum, acc = 0;
            for (int i = 0; i < n; i++) {
                acc += p[i];
                if (acc > target) return i;
            }
            return n - 1;
        }
        // nucleus: the smallest set of most likely tokens whose probability reaches topP
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        final double[] probs = p;
        Arrays.sort(order, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
        double kept = 0;
        int k = 0;
        while (k < n) {
            kept += p[order[k]];
            k++;
            if (kept >= topP * sum) break;
        }
        double target = u * kept, acc = 0;
        for (int i = 0; i < k; i++) {
            acc += p[order[i]];
            if (acc > target) return order[i];
        }
        return order[k - 1];
    }
}
