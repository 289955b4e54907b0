package dev.nexusquant.kv.eviction;

import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.kv.PositionalRotation;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected attention against sums computed the long way (seeded; replay with -Dnq.test.seed=S). */
class ExpectedAttentionEvictionTest {

    static final long SEED = Long.getLong("nq.test.seed", System.nanoTime());

    static PositionalRotation rope(int dim) {
        return AveragedRotationTest.rope(RopeParams.Convention.ADJACENT, dim, dim);
    }

    static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** Softmax of the logits, added to {@code into}. */
    static void addSoftmax(double[] logits, double[] into) {
        double max = Double.NEGATIVE_INFINITY, z = 0;
        for (double l : logits) max = Math.max(max, l);
        for (double l : logits) z += Math.exp(l - max);
        for (int r = 0; r < logits.length; r++) into[r] += Math.exp(logits[r] - max) / z;
    }

    @Test
    void identicalQueriesGiveTheSoftmaxOfTheirMeanCarriedForwardByAveragedRope() {
        Random rnd = new Random(SEED);
        int dim = 16, group = 2, rows = 30, slots = 6, future = 40;
        PositionalRotation rope = rope(dim);
        float[] keys = gaussian(rnd, rows * dim);
        int[] keyPos = new int[rows];
        for (int r = 0; r < rows; r++) keyPos[r] = r;
        // every recorded query of head g is the same pre-RoPE vector u[g], rotated to its position
        float[][] u = {gaussian(rnd, dim), gaussian(rnd, dim)};
        float[] q = new float[slots * group * dim];
        int[] qPos = new int[slots];
        for (int s = 0; s < slots; s++) {
            qPos[s] = rows - slots + s;
            for (int g = 0; g < group; g++) {
                System.arraycopy(u[g], 0, q, (s * group + g) * dim, dim);
                rope.forward(q, (s * group + g) * dim, qPos[s]);
            }
        }
        PromptQueries pq = new PromptQueries(q, qPos, slots, keys, keyPos, rows, group, dim);
        float[] got = ExpectedAttentionEviction.scores(pq, rope, future);
        // the long way: zero covariance, so the expected logit is the mean over the next `future` positions of R(p) u . k
        double[] want = new double[rows];
        int p0 = rows - 1;
        for (int g = 0; g < group; g++) {
            double[] logits = new double[rows];
            for (int t = 1; t <= future; t++) {
                float[] x = u[g].clone();
                rope.forward(x, 0, p0 + t);
                for (int r = 0; r < rows; r++) {
                    double d = 0;
                    for (int i = 0; i < dim; i++) d += (double) x[i] * keys[r * dim + i];
                    logits[r] += d / Math.sqrt(dim) / future;
                }
            }
            addSoftmax(logits, want);
        }
        for (int r = 0; r < rows; r++) assertEquals(want[r], got[r], 2e-4, "row " + r + " seed=" + SEED);
        double total = 0;
        for (float s : got) total += s;
        assertEquals(group, total, 1e-4, "one softmax per query head");
    }

    @Test
    void theCovarianceTermFavoursKeysAlongTheQueriesSpread() {
        // no RoPE; two queries +a and -a: mean 0, covariance a a^T / 1 (population over 2 samples: a a^T)
        int dim = 8, rows = 3;
        float[] a = {2, 0, 0, 0, 0, 0, 0, 0};
        float[] q = new float[2 * dim];
        for (int i = 0; i < dim; i++) {
            q[i] = a[i];
            q[dim + i] = -a[i];
        }
        float[] keys = new float[rows * dim];
        keys[0] = 1;            // along a
        keys[dim + 1] = 1;      // across it
        keys[2 * dim] = -1;     // along -a: the same expected attention as row 0
        PromptQueries pq = new PromptQueries(q, new int[]{8, 9}, 2, keys, new int[]{0, 1, 2}, rows, 1, dim);
        float[] s = ExpectedAttentionEviction.scores(pq, null, 512);
        // logits: k^T S k / (2d) with S = a a^T: rows 0 and 2: 4 / 16 = 0.25; row 1: 0
        double e = Math.exp(0.25), z = 2 * e + 1;
        assertEquals(e / z, s[0], 1e-6);
        assertEquals(1 / z, s[1], 1e-6);
        assertEquals(e / z, s[2], 1e-6);
    }

    @Test
    void ranksByThePromptQueriesAtTheEndAndByReceivedAttentionLater() {
        Random rnd = new Random(SEED);
        PromptQueries pq = SnapKvEvictionTest.lookingFor(7, 20, 4, 1, 8, rnd);
        EvictionPolicy p = KvSpec.parse("evict=expected:0.5").eviction();
        float[] atEnd = p.scores(new Stub(12, true, null, null, pq));
        assertEquals(12, atEnd.length);
        int best = 0;
        for (int r = 1; r < 12; r++) if (atEnd[r] > atEnd[best]) best = r;
        assertEquals(7, best, "seed=" + SEED);
        float[] means = {3, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        assertArrayEquals(means, p.scores(new Stub(12, false, null, means, pq)));
        assertArrayEquals(new float[5], p.scores(Stub.of(5, true)), "no query recorded: nothing to rank by");
    }

    @Test
    void specRoundTripsAndBadSettingsAreRefused() {
        EvictionPolicy p = KvSpec.parse("evict=expected:0.3").eviction();
        assertEquals(new ExpectedAttentionEviction(0.3, 4, 64, 512), p);
        assertEquals(64, p.observationWindow());
        assertTrue(p.drops() && p.recordsAttention(true) && !p.recordsAttention(false));
        assertEquals(30, p.keepCount(100));
        assertEquals("evict=expected:0.3,sinks=4,obs=64,future=512", p.spec());
        assertEquals(p, KvSpec.parse(p.spec()).eviction());
        assertEquals(new ExpectedAttentionEviction(0.5, 2, 16, 100), KvSpec.parse("obs=16,future=100,evict=expected:0.5,sinks=2").eviction());
        assertEquals(new ExpectedAttentionEviction(0.5, 4, 32, 512), KvSpec.parse("balanced,evict=snapkv:0.5,obs=32,agerank=attn,"
                + "evict=expected:0.5").eviction(), "an observation window set before carries over");
        assertEquals(new AgingByValueNorm(new ExpectedAttentionEviction(0.25, 4, 1024, 512)),
                KvSpec.parse("balanced,evict=expected:0.25").eviction(), "the preset's settings carry over");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("evict=expected:0.5,future=0"));
        assertTrue(e.getMessage().contains("future"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("evict=expected:1.5"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("evict=expected:0.5:2"));
    }
}
