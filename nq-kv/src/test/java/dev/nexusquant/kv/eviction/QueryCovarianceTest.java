package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.PositionalRotation;
import dev.nexusquant.kv.attention.AttentionKernels;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Expected attention through the queries' covariance against one dot product per query (seeded; -Dnq.test.seed=S). */
class QueryCovarianceTest {

    static final long SEED = Long.getLong("nq.test.seed", System.nanoTime());

    @Test
    void theSumsAreThoseOfTheQueriesOneByOne() {
        Random rnd = new Random(SEED);
        for (int trial = 0; trial < 20; trial++) {
            int dim = 1 + rnd.nextInt(40), n = 1 + rnd.nextInt(300);
            float[] y = ExpectedAttentionEvictionTest.gaussian(rnd, n * dim), mu = ExpectedAttentionEvictionTest.gaussian(rnd, dim);
            float[] keys = ExpectedAttentionEvictionTest.gaussian(rnd, 3 * dim);
            for (AttentionKernels kernels : new AttentionKernels[]{AttentionKernels.scalar(), AttentionKernels.preferred()}) {
                QueryCovariance cov = new QueryCovariance(y, n, dim, mu, kernels);
                double[] got = new double[2];
                cov.sums(keys, dim, got);
                double mean = 0, spread = 0;
                for (int i = 0; i < dim; i++) mean += (double) keys[dim + i] * mu[i];
                for (int o = 0; o < n; o++) {
                    double d = 0;
                    for (int i = 0; i < dim; i++) d += (double) y[o * dim + i] * keys[dim + i];
                    spread += d * d;
                }
                assertEquals(mean, got[0], 1e-12 * (1 + Math.abs(mean)), "seed " + SEED);
                assertEquals(spread, got[1], 1e-10 * (1 + spread), "seed " + SEED);
            }
        }
    }

    @Test
    void scoresThroughTheCovarianceMatchTheDirectSumsAndTheTwinsAgree() {
        Random rnd = new Random(SEED);
        int dim = 16, group = 2, rows = 70, future = 64;
        PositionalRotation rope = ExpectedAttentionEvictionTest.rope(dim);
        for (int slots : new int[]{64, 65, 100}) {
            float[] keys = ExpectedAttentionEvictionTest.gaussian(rnd, rows * dim);
            int[] keyPos = new int[rows];
            for (int r = 0; r < rows; r++) keyPos[r] = r;
            float[] q = ExpectedAttentionEvictionTest.gaussian(rnd, slots * group * dim);
            int[] qPos = new int[slots];
            for (int s = 0; s < slots; s++) qPos[s] = rows - slots + s;
            PromptQueries pq = new PromptQueries(q, qPos, slots + 3, keys, keyPos, rows, group, dim);
            float[] direct = ExpectedAttentionEviction.scores(pq, rope, future, AttentionKernels.scalar(), false);
            float[] cov = ExpectedAttentionEviction.scores(pq, rope, future, AttentionKernels.scalar(), true);
            for (int r = 0; r < rows; r++) assertEquals(direct[r], cov[r], 1e-6 * (1 + direct[r]), "row " + r + ", seed " + SEED);
            assertArrayEquals(cov, ExpectedAttentionEviction.scores(pq, rope, future, AttentionKernels.preferred(), true),
                    "the kernels' twins give the covariance path the same bits");
            // the default: one dot product per query up to 4 per dimension (every preset), the covariance past it
            float[] chosen = ExpectedAttentionEviction.scores(pq, rope, future, AttentionKernels.scalar());
            assertArrayEquals(slots > ExpectedAttentionEviction.COVARIANCE_AFTER * dim ? cov : direct, chosen, "slots " + slots);
        }
    }

    @Test
    void badShapesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new QueryCovariance(new float[8], 3, 4, new float[4], AttentionKernels.scalar()));
        assertThrows(IllegalArgumentException.class, () -> new QueryCovariance(new float[8], 0, 4, new float[4], AttentionKernels.scalar()));
    }
}
