package dev.nexusquant.codec.importance;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImportanceTest {

    @Test
    void snapKvSumsTheWindowVotesThenPools() {
        // 2 window queries over 5 keys
        float[][] probs = {
                {0.5f, 0.1f, 0.0f, 0.4f, 0.0f},
                {0.2f, 0.0f, 0.3f, 0.1f, 0.4f}};
        // votes: 0.7 0.1 0.3 0.5 0.4
        assertArrayEquals(new float[]{0.7f, 0.1f, 0.3f, 0.5f, 0.4f},
                new SnapKvScorer(2, 1, SnapKvScorer.Pooling.MAX, GqaReduce.SUM).score(probs), 1e-6f);
        assertArrayEquals(new float[]{0.7f, 0.7f, 0.5f, 0.5f, 0.5f},
                new SnapKvScorer(2, 3, SnapKvScorer.Pooling.MAX, GqaReduce.SUM).score(probs), 1e-6f);
        // AVG over the neighbours that exist: (0.7+0.1)/2, (0.7+0.1+0.3)/3, (0.1+0.3+0.5)/3, (0.3+0.5+0.4)/3, (0.5+0.4)/2
        assertArrayEquals(new float[]{0.4f, 1.1f / 3, 0.3f, 0.4f, 0.45f},
                new SnapKvScorer(2, 3, SnapKvScorer.Pooling.AVG, GqaReduce.SUM).score(probs), 1e-6f);
    }

    @Test
    void gqaSumAndMaxOverQueryHeads() {
        // 2 heads x 1 query x 3 keys
        float[] probs = {0.6f, 0.3f, 0.1f, /* head 1 */ 0.1f, 0.1f, 0.8f};
        assertArrayEquals(new float[]{0.7f, 0.4f, 0.9f},
                new SnapKvScorer(4, 1, SnapKvScorer.Pooling.MAX, GqaReduce.SUM).score(probs, 0, 2, 1, 3), 1e-6f);
        assertArrayEquals(new float[]{0.6f, 0.3f, 0.8f},
                new SnapKvScorer(4, 1, SnapKvScorer.Pooling.MAX, GqaReduce.MAX).score(probs, 0, 2, 1, 3), 1e-6f);
        H2OAccumulator sum = new H2OAccumulator(2, GqaReduce.SUM);
        sum.addGroup(probs, 0, 2, 3);
        assertArrayEquals(new float[]{0.7f, 0.4f, 0.9f}, sum.scores(), 1e-6f);
        H2OAccumulator max = new H2OAccumulator(2, GqaReduce.MAX);
        max.addGroup(probs, 0, 2, 3);
        assertArrayEquals(new float[]{0.6f, 0.3f, 0.8f}, max.scores(), 1e-6f);
    }

    @Test
    void snapKvMatchesANaiveComputationOnRandomCausalAttention() {
        long seed = TestSeeds.seed("snapKvMatchesANaiveComputationOnRandomCausalAttention");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int trial = 0; trial < 50; trial++) {
            int t = rnd.nextInt(8, 300);
            int w = rnd.nextInt(1, Math.min(32, t) + 1);
            int heads = rnd.nextInt(1, 5);
            int kernel = 2 * rnd.nextInt(0, 4) + 1;
            float[] probs = new float[heads * w * t];
            for (int h = 0; h < heads; h++) {
                for (int r = 0; r < w; r++) {
                    int visible = t - w + r + 1; // causal: query at position t - w + r sees keys 0..itself
                    double sum = 0;
                    for (int k = 0; k < visible; k++) sum += probs[(h * w + r) * t + k] = (float) rnd.nextDouble();
                    for (int k = 0; k < visible; k++) probs[(h * w + r) * t + k] /= (float) sum;
                }
            }
            for (GqaReduce reduce : GqaReduce.values()) {
                for (SnapKvScorer.Pooling pooling : SnapKvScorer.Pooling.values()) {
                    float[] got = new SnapKvScorer(32, kernel, pooling, reduce).score(probs, 0, heads, w, t);
                    double[] votes = new double[t];
                    for (int k = 0; k < t; k++) {
                        double agg = reduce == GqaReduce.SUM ? 0 : Double.NEGATIVE_INFINITY;
                        for (int h = 0; h < heads; h++) {
                            double v = 0;
                            for (int r = 0; r < w; r++) v += probs[(h * w + r) * t + k];
                            agg = reduce == GqaReduce.SUM ? agg + v : Math.max(agg, v);
                        }
                        votes[k] = agg;
                    }
                    for (int k = 0; k < t; k++) {
                        double ref = pooling == SnapKvScorer.Pooling.MAX ? Double.NEGATIVE_INFINITY : 0;
                        int n = 0;
                        for (int j = k - kernel / 2; j <= k + kernel / 2; j++) {
                            if (j < 0 || j >= t) continue;
                            n++;
                            ref = pooling == SnapKvScorer.Pooling.MAX ? Math.max(ref, votes[j]) : ref + votes[j];
                        }
                        if (pooling == SnapKvScorer.Pooling.AVG) ref /= n;
                        assertEquals(ref, got[k], 1e-5 * (1 + Math.abs(ref)), "seed=" + seed + " trial " + trial);
                    }
                }
            }
        }
    }

    @Test
    void h2oAccumulatesOverQueriesAndRetainsKeptPositions() {
        H2OAccumulator acc = new H2OAccumulator(1, GqaReduce.SUM);
        acc.add(new float[]{1f}, 0, 1);
        acc.add(new float[]{0.5f, 0.5f}, 0, 2);
        acc.add(new float[]{0.2f, 0.3f, 0.5f}, 0, 3);
        assertEquals(3, acc.length());
        assertArrayEquals(new float[]{1.7f, 0.8f, 0.5f}, acc.scores(), 1e-6f);
        assertArrayEquals(new float[]{1.7f / 3, 0.4f, 0.5f}, acc.normalizedScores(), 1e-6f);
        acc.retain(new int[]{0, 2});
        assertArrayEquals(new float[]{1.7f, 0.5f}, acc.scores(), 1e-6f);
        acc.add(new float[]{0.1f, 0.2f, 0.7f}, 0, 3);
        assertArrayEquals(new float[]{1.8f, 0.7f, 0.7f}, acc.scores(), 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> acc.retain(new int[]{1, 0}));
        acc.reset();
        assertEquals(0, acc.length());
    }

    @Test
    void rejectsBadShapes() {
        SnapKvScorer s = new SnapKvScorer(4, 3, SnapKvScorer.Pooling.MAX, GqaReduce.SUM);
        assertThrows(IllegalArgumentException.class, () -> s.score(new float[10], 0, 1, 5, 2));
        assertThrows(IllegalArgumentException.class, () -> s.score(new float[10], 0, 1, 2, 6));
        assertThrows(IllegalArgumentException.class, () -> new SnapKvScorer(4, 2, SnapKvScorer.Pooling.MAX, GqaReduce.SUM));
        assertThrows(IllegalArgumentException.class, () -> new H2OAccumulator(4, GqaReduce.SUM).addGroup(new float[5], 0, 2, 3));
    }
}
