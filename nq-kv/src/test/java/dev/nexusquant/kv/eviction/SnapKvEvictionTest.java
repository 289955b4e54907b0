package dev.nexusquant.kv.eviction;

import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SnapKV's vote (seeded; replay with -Dnq.test.seed=S). */
class SnapKvEvictionTest {

    static final long SEED = Long.getLong("nq.test.seed", System.nanoTime());

    /** A window of {@code rows} random keys at positions 0.., and queries at the last positions that look for key t. */
    static PromptQueries lookingFor(int target, int rows, int slots, int group, int dim, Random rnd) {
        float[] keys = new float[rows * dim];
        for (int i = 0; i < keys.length; i++) keys[i] = (float) rnd.nextGaussian();
        // unit keys: the target's own dot product (|k|^2 = 1) beats every other key's (cos < 1), for any seed;
        // with raw Gaussian keys a long key close to the target's direction could outscore it now and then
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int c = 0; c < dim; c++) n += (double) keys[r * dim + c] * keys[r * dim + c];
            float inv = (float) (1 / Math.sqrt(n));
            for (int c = 0; c < dim; c++) keys[r * dim + c] *= inv;
        }
        int[] keyPos = new int[rows];
        for (int r = 0; r < rows; r++) keyPos[r] = r;
        float[] q = new float[slots * group * dim];
        int[] qPos = new int[slots];
        for (int s = 0; s < slots; s++) {
            qPos[s] = rows - slots + s;
            for (int g = 0; g < group; g++) {
                for (int c = 0; c < dim; c++) q[(s * group + g) * dim + c] = 8 * keys[target * dim + c];
            }
        }
        return new PromptQueries(q, qPos, slots, keys, keyPos, rows, group, dim);
    }

    @Test
    void theQueriesVoteForTheRowTheyAttendTo() {
        Random rnd = new Random(SEED);
        for (Kernels k : new Kernels[]{Kernels.scalar(), Kernels.preferred()}) {
            int rows = 40, target = 3 + rnd.nextInt(20);
            PromptQueries q = lookingFor(target, rows, 8, 2, 16, rnd);
            float[] s = SnapKvEviction.scores(q, 1, k);
            assertEquals(rows, s.length);
            int best = 0;
            for (int r = 1; r < rows; r++) if (s[r] > s[best]) best = r;
            assertEquals(target, best, k.name() + " seed=" + SEED);
            // 8 queries x 2 heads, each a softmax summing to 1 over the rows it sees
            double total = 0;
            for (float v : s) total += v;
            assertEquals(16, total, 1e-3, "seed=" + SEED);
        }
    }

    @Test
    void aQuerySeesNoRowAfterItsPosition() {
        Random rnd = new Random(SEED);
        PromptQueries q = lookingFor(0, 30, 4, 1, 8, rnd);
        // the ring's queries sit at positions 26..29: rows after 29 do not exist, rows 27..29 are seen by some only
        float[] s = SnapKvEviction.scores(q, 1, Kernels.scalar());
        PromptQueries early = new PromptQueries(q.queries(), new int[]{5, 5, 5, 5}, 4, q.keys(), q.keyPositions(), 30, 1, 8);
        float[] e = SnapKvEviction.scores(early, 1, Kernels.scalar());
        for (int r = 6; r < 30; r++) assertEquals(0f, e[r], "row " + r + " is after every query, seed=" + SEED);
        assertTrue(s[29] >= 0f);
    }

    @Test
    void poolingSpreadsTheVoteToNeighbours() {
        Random rnd = new Random(SEED);
        PromptQueries q = lookingFor(10, 40, 8, 1, 16, rnd);
        float[] plain = SnapKvEviction.scores(q, 1, Kernels.scalar());
        float[] pooled = SnapKvEviction.scores(q, 7, Kernels.scalar());
        for (int r = 7; r <= 13; r++) assertTrue(pooled[r] >= plain[10] - 1e-6f, "row " + r + " gets the max of its neighbourhood");
    }

    @Test
    void usesThePromptQueriesOnlyAtThePromptsEnd() {
        Random rnd = new Random(SEED);
        PromptQueries q = lookingFor(2, 12, 4, 1, 8, rnd);
        EvictionPolicy p = EvictionPolicy.snapKv(0.5);
        float[] atEnd = p.scores(new Stub(6, true, null, null, q));
        assertEquals(6, atEnd.length);
        assertArrayEquals(java.util.Arrays.copyOf(SnapKvEviction.scores(q, 7, Kernels.preferred()), 6), atEnd);
        float[] means = {1, 2, 3, 4, 5, 6, 7};
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, p.scores(new Stub(6, false, null, means, q)),
                "later blocks: the attention they received");
        assertArrayEquals(new float[6], p.scores(Stub.of(6, true)), "no query recorded, nothing received");
    }

    @Test
    void settingsAndSpec() {
        EvictionPolicy p = EvictionPolicy.snapKv(0.2);
        assertEquals(new SnapKvEviction(0.2, 4, 32, 7), p);
        assertTrue(p.drops());
        assertEquals(32, p.observationWindow());
        assertEquals(32, new SnapKvEviction(0.2, 4, 0, 7).observationWindow(), "0 means the default window");
        assertFalse(p.recordsAttention(false), "the prompt is ranked by its queries");
        assertTrue(p.recordsAttention(true), "later blocks by the attention they received");
        assertEquals(20, p.keepCount(100));
        assertEquals("evict=snapkv:0.2,sinks=4,obs=32,pool=7", p.spec());
        assertEquals(p, KvSpec.parse(p.spec()).eviction());
        assertEquals(new SnapKvEviction(0.4, 2, 16, 5), KvSpec.parse("sinks=2,obs=16,pool=5,evict=snapkv:0.4").eviction(),
                "settings given before the policy are kept");
        assertThrows(IllegalArgumentException.class, () -> new SnapKvEviction(0.5, 4, 32, 4));
        assertThrows(IllegalArgumentException.class, () -> new SnapKvEviction(0.5, 4, -1, 7));
    }
}
