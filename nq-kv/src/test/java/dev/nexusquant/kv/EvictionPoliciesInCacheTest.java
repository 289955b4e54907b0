package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The eviction policies inside a compressed cache: what each keeps on prompts where the answer is known. */
class EvictionPoliciesInCacheTest {

    static final int DIM = 16;
    static final Set<Integer> MAGNETS = Set.of(5, 17, 40, 41, 63);

    /**
     * An 88-token prompt into a 1-layer cache with 2 KV heads of 2 query heads each: keys at the magnet positions are
     * 3u, the rest small noise; KV head 0's queries are u (they attend to the magnets), KV head 1's are 0 (they
     * spread their attention evenly). fp32 codecs, a window of 8, no sinks.
     */
    static CompressedKvCache prompt(String evict, long seed) {
        KvLayout layout = new KvLayout(1, 4, 2, DIM, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, DIM));
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=fp32,v=fp32,evict=" + evict + ",sinks=0,pool=1,window=8,block=8")
                .create(layout);
        Random rnd = new Random(seed);
        int n = 88, kvDim = layout.kvDim(), qDim = layout.qDim();
        float[] u = new float[DIM];
        for (int i = 0; i < DIM; i++) u[i] = (float) rnd.nextGaussian();
        float[] k = new float[n * kvDim], v = new float[n * kvDim], q = new float[n * qDim];
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < DIM; i++) {
                    k[t * kvDim + h * DIM + i] = MAGNETS.contains(t) ? 3f * u[i] : 0.3f * (float) rnd.nextGaussian();
                    v[t * kvDim + h * DIM + i] = (float) rnd.nextGaussian();
                }
            }
            for (int i = 0; i < DIM; i++) {
                q[t * qDim + i] = u[i];
                q[t * qDim + DIM + i] = u[i];
            }
        }
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = i;
        c.append(0, n, pos, k, v);
        float[] out = new float[q.length];
        c.attend(0, 0, n, pos, q, out);
        c.attend(0, 1, n, pos, q, out);
        c.endOfPrompt();
        return c;
    }

    @Test
    void everyScoringPolicyKeepsTheAttendedRowsAndItsShare() {
        for (String ev : new String[]{"expected:0.25", "vnorm:0.25", "merge:0.25", "expected:0.25,vnorm=on"}) {
            CompressedKvCache c = prompt(ev, 8);
            Set<Integer> kept = CompressedKvCacheTest.keptPositions(c, 0, 0);
            assertEquals(8 + 20, kept.size(), ev); // window 8 + round(0.25 * 80)
            for (int p : MAGNETS) assertTrue(kept.contains(p), ev + " kept the attended token " + p);
            assertEquals(28, CompressedKvCacheTest.keptPositions(c, 0, 1).size(), ev);
        }
    }

    @Test
    void adaKvGivesTheConcentratedHeadsRoomToTheSpreadHead() {
        CompressedKvCache c = prompt("adakv:0.25", 8);
        Set<Integer> h0 = CompressedKvCacheTest.keptPositions(c, 0, 0), h1 = CompressedKvCacheTest.keptPositions(c, 0, 1);
        // the layer's pool is 2 x 20 rows; head 0 needs only its 5 magnets (its floor is 4 of them), head 1 takes the rest
        assertEquals(8 + 5, h0.size());
        assertEquals(8 + 35, h1.size());
        for (int p : MAGNETS) assertTrue(h0.contains(p), "magnet " + p);
        // per head (SnapKV alone) both keep 20
        CompressedKvCache alone = prompt("snapkv:0.25", 8);
        assertEquals(28, CompressedKvCacheTest.keptPositions(alone, 0, 0).size());
        assertEquals(28, CompressedKvCacheTest.keptPositions(alone, 0, 1).size());
    }

    @Test
    void mergingKeepsTheSameRowsAndChangesOnlyValuesOfRowsWithSimilarDroppedKeys() {
        CompressedKvCache merged = prompt("merge:0.25,merge=0.9", 8), plain = prompt("snapkv:0.25", 8);
        for (int h = 0; h < 2; h++) {
            CompressedKvCache.Expanded a = merged.expand(0, h), b = plain.expand(0, h);
            assertArrayEquals(b.positions(), a.positions(), "the same rows are kept");
            assertArrayEquals(b.keys(), a.keys(), "keys are not merged");
            int changed = 0;
            for (int r = 0; r < a.rows(); r++) {
                boolean same = true;
                for (int i = 0; i < DIM; i++) same &= a.values()[r * DIM + i] == b.values()[r * DIM + i];
                if (!same) {
                    changed++;
                    // only rows that had a dropped row with a key within cosine 0.9: in head 0 the magnets have none
                    // (every magnet is kept), so nothing there changes
                    assertTrue(h == 1, "head " + h + " row at " + a.positions()[r]);
                }
            }
            if (h == 0) assertEquals(0, changed);
        }
        // at cosine -1 every dropped row merges somewhere: values of kept rows change
        CompressedKvCache all = prompt("merge:0.25,merge=-1", 8);
        CompressedKvCache.Expanded a = all.expand(0, 1), b = plain.expand(0, 1);
        int changed = 0;
        for (int r = 0; r < a.rows(); r++) if (a.values()[r * DIM] != b.values()[r * DIM]) changed++;
        assertTrue(changed > 0, "merged rows changed");
    }
}
