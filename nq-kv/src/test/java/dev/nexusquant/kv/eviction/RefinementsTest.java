package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The refinements (value norms, AdaKV pooling, merging): their own job, their specs and their errors. */
class RefinementsTest {

    @Test
    void valueNormsMultiplyTheBaseScores() {
        EvictionPolicy p = KvSpec.parse("evict=vnorm:0.5").eviction();
        assertEquals(new ValueNormWeighting(new SnapKvEviction(0.5, 4, 32, 7)), p);
        float[] means = {1, 2, 3};
        float[] values = {3, 4, 0, 0, 0, 0, 1, 0, 0}; // norms 5, 0, 1 (dim 3)
        float[] s = p.scores(new Stub(3, false, null, means, null, 3, values, null));
        assertArrayEquals(new float[]{5, 0, 3}, s);
        assertArrayEquals(means, p.scores(new Stub(3, false, null, means, null)), "no values offered: the base scores");
        assertEquals(p.keepCount(10), 5);
        // rows that age: received attention times the stored values' norms; plain SnapKV keeps the received attention
        float[] received = {0.5f, 0.25f, 2};
        assertArrayEquals(new float[]{2.5f, 0, 2}, p.agingScores(received, values, 3, 3));
        assertArrayEquals(received, EvictionPolicy.snapKv(0.5).agingScores(received, values, 3, 3));
        assertArrayEquals(received, KvSpec.parse("evict=adakv:0.5").eviction().agingScores(received, values, 3, 3));
    }

    @Test
    void agingByValueNormRanksByTheStoredValuesAloneAndRecordsNoAttention() {
        EvictionPolicy p = KvSpec.parse("evict=expected:0.25,agerank=vnorm").eviction();
        assertTrue(!p.agingAttention() && p.drops());
        assertTrue(KvSpec.parse("evict=expected:0.25").eviction().agingAttention());
        assertTrue(KvSpec.parse("evict=expected:0.25,agerank=vnorm,agerank=attn").eviction().agingAttention());
        float[] values = {3, 4, 0, /**/ 1, 0, 0, /**/ 0, 0, -2}; // [3][3]: norms 5, 1, 2
        float[] received = {0.9f, 0.5f, 0.1f};
        assertArrayEquals(new float[]{5, 1, 2}, p.agingScores(received, values, 3, 3));
        assertEquals(25, p.keepCount(100));
        assertEquals(64, p.observationWindow());
        // under value-norm weighting the prompt's end is still weighted; aging is by norms alone either way
        EvictionPolicy both = KvSpec.parse("evict=snapkv:0.5,vnorm=on,agerank=vnorm").eviction();
        assertArrayEquals(new float[]{5, 1, 2}, both.agingScores(received, values, 3, 3));
        assertTrue(!both.agingAttention());
    }

    @Test
    void specsRoundTripAndCombine() {
        String[] specs = {"evict=vnorm:0.5", "evict=adakv:0.3", "evict=merge:0.2", "evict=expected:0.4,vnorm=on",
                "evict=h2o:0.5,joint=0.5,merge=0.8", "evict=snapkv:0.5,vnorm=on,joint=on,merge=-0.25",
                "evict=expected:0.5,obs=64,agerank=vnorm", "evict=snapkv:0.5,agerank=vnorm,vnorm=on,joint=on"};
        for (String spec : specs) {
            EvictionPolicy p = KvSpec.parse(spec).eviction();
            assertEquals(p, KvSpec.parse(p.spec()).eviction(), spec + " -> " + p.spec());
            assertEquals(p, KvSpec.parse(KvSpec.format(KvSpec.parse(spec))).eviction(), spec);
        }
        EvictionPolicy all = KvSpec.parse("evict=snapkv:0.5,vnorm=on,joint=on,merge=-0.25").eviction();
        assertEquals(new MergingEviction(new JointAcrossHeads(new ValueNormWeighting(new SnapKvEviction(0.5, 4, 32, 7)),
                JointAcrossHeads.FLOOR), -0.25), all);
        assertEquals(0.2, all.jointFloor());
        assertEquals(-0.25, all.mergeThreshold());
        assertEquals(new JointAcrossHeads(new SnapKvEviction(0.3, 4, 32, 7), 0.2), KvSpec.parse("evict=adakv:0.3").eviction());
        assertEquals(new MergingEviction(new SnapKvEviction(0.2, 4, 32, 7), 0.5), KvSpec.parse("evict=merge:0.2").eviction());
        assertEquals(-1, EvictionPolicy.snapKv(0.5).jointFloor());
        assertTrue(EvictionPolicy.snapKv(0.5).mergeThreshold() > 1);
        // a preset refined, and refinements switched off again
        EvictionPolicy fromPreset = KvSpec.parse("balanced,evict=adakv:0.5,joint=off,agerank=attn").eviction();
        assertEquals(new SnapKvEviction(0.5, 4, 1024, 7), fromPreset, "the preset's 1,024 observation queries stay");
        assertEquals(new AgingByValueNorm(new SnapKvEviction(0.5, 4, 1024, 7)), KvSpec.parse("balanced,evict=snapkv:0.5").eviction());
        assertEquals(new SnapKvEviction(0.5, 4, 32, 7), KvSpec.parse("evict=merge:0.5,merge=off").eviction());
        assertEquals(EvictionPolicy.none(), KvSpec.parse("evict=vnorm:0.5,evict=none").eviction(), "none clears them");
        // the refinements keep the base's counts and settings
        EvictionPolicy p = KvSpec.parse("evict=expected:0.25,vnorm=on,joint=on").eviction();
        assertEquals(25, p.keepCount(100));
        assertEquals(64, p.observationWindow());
        assertEquals(4, p.sinks());
        assertTrue(p.drops());
    }

    @Test
    void badRefinementsAreRefusedByName() {
        String[][] bad = {
                {"evict=streaming,vnorm=on", "vnorm"},
                {"evict=none,joint=on", "joint"},
                {"merge=0.5", "merge"},
                {"evict=snapkv:0.5,merge=1.5", "merge"},
                {"evict=snapkv:0.5,joint=2", "joint"},
                {"evict=snapkv:0.5,vnorm=maybe", "vnorm"},
                {"evict=adakv:0", "keep ratio"},
                {"evict=snapkv:0.5,agerank=size", "agerank"},
                {"evict=none,agerank=vnorm", "agerank"},
                {"evict=bogus:0.5", "evict"},
        };
        for (String[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(b[0]), b[0]);
            assertTrue(e.getMessage().contains(b[1]), b[0] + ": " + e.getMessage());
        }
    }

    @Test
    void jointCountsGiveAConcentratedHeadsRoomToASpreadOne() {
        // head 0: all its attention on one row; head 1: spread evenly; each would keep 4 of 8 alone
        float[][] scores = {{10, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}};
        int[] none = {0, 0}, shares = {4, 4};
        assertArrayEquals(new int[]{1, 7}, JointCounts.counts(scores, none, shares, new double[]{1, 1}, 0));
        // the floor: each keeps at least half its share first
        assertArrayEquals(new int[]{2, 6}, JointCounts.counts(scores, none, shares, new double[]{1, 1}, 0.5));
        // rows of head 1 cost twice as much: pool 4 + 8 = 12 bytes; head 0's row (1), five of head 1 (10), then one
        // more of head 0 fits the last byte
        assertArrayEquals(new int[]{2, 5}, JointCounts.counts(scores, none, shares, new double[]{1, 2}, 0));
        // sinks are kept on top and are not in the pool
        assertArrayEquals(new int[]{3, 9}, JointCounts.counts(
                new float[][]{{5, 5, 10, 0, 0, 0, 0, 0, 0, 0}, {5, 5, 1, 1, 1, 1, 1, 1, 1, 1}},
                new int[]{2, 2}, new int[]{6, 6}, new double[]{1, 1}, 0));
        // floor 1: each head keeps exactly its own share
        assertArrayEquals(new int[]{4, 4}, JointCounts.counts(scores, none, shares, new double[]{1, 1}, 1));
    }

    @Test
    void mergerFoldsDroppedValuesIntoTheMostSimilarKeptRow() {
        int dim = 2;
        float[] keys = {
                1, 0,     // 0 kept
                2, 0.1f,  // 1 dropped, cos with row 0 ~ 0.999
                0, 1,     // 2 kept
                -1, 0,    // 3 dropped, cos -1 with row 0 and 0 with row 2: below 0.5, stays out
        };
        float[] values = {1, 1, 3, 5, 7, 7, 9, 9};
        float[] scores = {1, 3, 2, 4};
        int merged = RowMerger.merge(keys, values, 4, dim, new int[]{0, 2}, scores, 0.5);
        assertEquals(1, merged);
        assertArrayEquals(new float[]{(1 * 1 + 3 * 3) / 4f, (1 * 1 + 3 * 5) / 4f}, new float[]{values[0], values[1]}, 1e-6f);
        assertArrayEquals(new float[]{7, 7}, new float[]{values[4], values[5]}, "no similar dropped row: unchanged");
        assertArrayEquals(new float[]{3, 5, 9, 9}, new float[]{values[2], values[3], values[6], values[7]}, "dropped rows untouched");
        // a low threshold takes row 3 too, into row 2 (cos 0 beats -1)
        float[] v2 = {1, 1, 3, 5, 7, 7, 9, 9};
        assertEquals(2, RowMerger.merge(keys, v2, 4, dim, new int[]{0, 2}, scores, -0.5));
        assertArrayEquals(new float[]{(2 * 7 + 4 * 9) / 6f, (2 * 7 + 4 * 9) / 6f}, new float[]{v2[4], v2[5]}, 1e-6f);
        // nothing dropped, nothing kept: nothing to merge
        assertEquals(0, RowMerger.merge(keys, values.clone(), 4, dim, new int[]{0, 1, 2, 3}, scores, -1));
        assertEquals(0, RowMerger.merge(keys, values.clone(), 4, dim, new int[0], scores, -1));
    }
}
