package dev.nexusquant.codec.eviction;

import java.util.Arrays;

/**
 * What an eviction keeps, per layer and KV head (a test helper: {@link #plan} runs {@link Evictor} per layer and head): the original positions of the kept tokens in ascending order.
 * Evicted tokens are simply absent; the caller drops them from memory and keeps these positions beside the kept
 * entries (RoPE and causal masks need them).
 *
 * @param length  tokens seen before the eviction (positions {@code 0..length)})
 * @param layers  number of layers
 * @param kvHeads KV heads per layer
 * @param kept    {@code [layers * kvHeads][]} kept positions, ascending, index {@code layer * kvHeads + head}
 */
public record EvictionPlan(int length, int layers, int kvHeads, int[][] kept) {

    public EvictionPlan {
        if (length < 0 || layers <= 0 || kvHeads <= 0) throw new IllegalArgumentException("EvictionPlan: bad shape");
        if (kept == null || kept.length != layers * kvHeads) {
            throw new IllegalArgumentException("EvictionPlan: need " + layers * kvHeads + " kept lists");
        }
        int[][] copy = new int[kept.length][];
        for (int i = 0; i < kept.length; i++) {
            int[] k = kept[i];
            for (int j = 0; j < k.length; j++) {
                if (k[j] < 0 || k[j] >= length || (j > 0 && k[j] <= k[j - 1])) {
                    throw new IllegalArgumentException("EvictionPlan: kept positions of list " + i + " must ascend inside [0, " + length + ")");
                }
            }
            copy[i] = k.clone();
        }
        kept = copy;
    }

    /** Kept positions of a layer and head, ascending (a copy). */
    public int[] kept(int layer, int head) {
        return kept[index(layer, head)].clone();
    }

    public int keptCount(int layer, int head) {
        return kept[index(layer, head)].length;
    }

    /** Kept entries summed over layers and heads. */
    public long totalKept() {
        long n = 0;
        for (int[] k : kept) n += k.length;
        return n;
    }

    /** Fraction of (layer, head, token) entries kept. */
    public double keptFraction() {
        return length == 0 ? 1.0 : totalKept() / ((double) length * layers * kvHeads);
    }

    private int index(int layer, int head) {
        if (layer < 0 || layer >= layers || head < 0 || head >= kvHeads) {
            throw new IndexOutOfBoundsException("EvictionPlan: layer " + layer + ", head " + head);
        }
        return layer * kvHeads + head;
    }

    @Override
    public int[][] kept() {
        int[][] copy = new int[kept.length][];
        for (int i = 0; i < kept.length; i++) copy[i] = kept[i].clone();
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EvictionPlan p && length == p.length && layers == p.layers && kvHeads == p.kvHeads
                && Arrays.deepEquals(kept, p.kept);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(kept) * 31 + length;
    }

    @Override
    public String toString() {
        return "EvictionPlan[length=" + length + ", layers=" + layers + ", kvHeads=" + kvHeads + ", kept "
                + totalKept() + " of " + (long) length * layers * kvHeads + "]";
    }

    /** The scores of one layer and KV head. */
    @FunctionalInterface
    interface Scores {
        float[] of(int layer, int head);
    }

    /** The policy of one layer and KV head (budgets may differ by layer and head). */
    @FunctionalInterface
    interface Policies {
        KeepRule of(int layer, int head);
    }

    /** A plan for every layer and KV head. */
    static EvictionPlan plan(int length, int layers, int kvHeads, Scores scores, Policies policies) {
        int[][] kept = new int[layers * kvHeads][];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                kept[l * kvHeads + h] = Evictor.select(scores.of(l, h), length, policies.of(l, h));
            }
        }
        return new EvictionPlan(length, layers, kvHeads, kept);
    }

    /** A plan with one policy for every layer and head. */
    static EvictionPlan plan(int length, int layers, int kvHeads, Scores scores, KeepRule policy) {
        return plan(length, layers, kvHeads, scores, (l, h) -> policy);
    }
}
