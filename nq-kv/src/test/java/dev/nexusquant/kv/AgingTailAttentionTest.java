package dev.nexusquant.kv;

import dev.nexusquant.codec.importance.GqaReduce;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.nexusquant.kv.AgedRunsTest.AGED;
import static dev.nexusquant.kv.AgedRunsTest.DIM;
import static dev.nexusquant.kv.AgedRunsTest.YOUNG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code agetail=N} with attention ranking: the aged run's newest rows keep recording what they receive. */
class AgingTailAttentionTest {

    /** Feeds {@code seg}'s accumulator {@code queries} one-head queries of random attention over its covered rows. */
    private static void attend(Segment seg, int queries, Random r, float[] sums, int[] counts, int firstRow) {
        int cov = seg.mass().capacity();
        for (int q = 0; q < queries; q++) {
            float[] p = new float[cov];
            for (int i = 0; i < cov; i++) {
                p[i] = (float) Math.exp(2 * r.nextGaussian()) / 100f;
                sums[firstRow + i] += p[i];
                counts[firstRow + i]++;
            }
            seg.mass().add(p, 0, cov);
        }
    }

    @Test
    void theTailAndTheBlockCompeteOnTheMeanAttentionAndTheRecordGoesOn() {
        for (long seed = 1; seed <= 12; seed++) {
            Random r = new Random(seed);
            int run = 8 + r.nextInt(40), tail = 1 + r.nextInt(run + 8), sinks = 4, keep = 1 + r.nextInt(3);
            float[] k = AgedRunsTest.rows(run + 4, seed), v = AgedRunsTest.rows(run + 4, seed + 1000);
            int[] pos = AgedRunsTest.positions(0, run + 4);
            MemoryAccount acc = new MemoryAccount(0);
            SegmentStore s = new SegmentStore(DIM, acc, 256);
            // an aged run recording its newest cov rows (cov up to the tail), then a young block of 4 recording all
            s.add(pos, k, v, 0, run, AGED, AGED, true, false);
            int cov = Math.min(run, 1 + r.nextInt(run));
            Segment a = s.list().get(0);
            s.restore(java.util.List.of(new Segment(a.positions(), a.keys(), a.values(), true,
                    new dev.nexusquant.codec.importance.H2OAccumulator(cov, GqaReduce.SUM))), 1);
            acc.addAccumulators(s.list().get(0).mass().bytes());
            s.add(pos, k, v, run, 4, YOUNG, YOUNG, false, true);
            float[] sums = new float[run + 4];
            int[] counts = new int[run + 4];
            attend(s.list().get(0), 3 + r.nextInt(20), r, sums, counts, run - cov);
            attend(s.list().get(1), 1 + r.nextInt(5), r, sums, counts, run);
            s.age(1000, (n, seg, positionBytes) -> keep, AGED, AGED, sinks, (received, values, n) -> received, false, tail);

            assertEquals(1, s.list().size(), "seed " + seed + ": the block joined the run");
            Segment got = s.list().get(0);
            // candidates: the run's newest rows that record attention (not sinks, at most the tail), and the block
            int t = Math.min(Math.min(tail, cov), run - sinks);
            float[] mean = new float[run + 4];
            for (int i = 0; i < run + 4; i++) mean[i] = counts[i] == 0 ? 0f : sums[i] / counts[i];
            Integer[] cand = new Integer[t + 4];
            for (int i = 0; i < t + 4; i++) cand[i] = run - t + i;
            Arrays.sort(cand, (x, y) -> Float.compare(mean[y], mean[x]));
            int[] want = new int[run - t + t + keep];
            for (int i = 0; i < run - t; i++) want[i] = i;
            for (int i = 0; i < t + keep; i++) want[run - t + i] = cand[i];
            Arrays.sort(want);
            int[] p = new int[got.rows()];
            got.positions().decode(0, got.rows(), p);
            assertArrayEquals(want, p, "seed " + seed + " run " + run + " cov " + cov + " tail " + tail);
            // the run's record: the newest min(tail, t + keep) rows, their sums and counts carried over
            int rec = Math.min(tail, t + keep);
            assertEquals(rec, got.mass().capacity(), "seed " + seed);
            float[] ws = new float[rec];
            int[] wc = new int[rec];
            for (int i = 0; i < rec; i++) {
                ws[i] = sums[want[want.length - rec + i]];
                wc[i] = counts[want[want.length - rec + i]];
            }
            assertArrayEquals(wc, got.mass().counts(), "seed " + seed);
            assertArrayEquals(ws, got.mass().scores(), 1e-6f, "seed " + seed);
            assertEquals(AgedRunsTest.held(s), acc.held(), "every byte counted, the record's included");
        }
    }

    @Test
    void aRunThatNoBlockJoinsAgainStopsRecording() {
        float[] k = AgedRunsTest.rows(12, 7), v = AgedRunsTest.rows(12, 8);
        int[] pos = AgedRunsTest.positions(0, 12);
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = new SegmentStore(DIM, acc, 7); // runs of at most 7 rows
        s.add(pos, k, v, 0, 4, YOUNG, YOUNG, false, true);
        s.add(pos, k, v, 4, 4, YOUNG, YOUNG, false, true);
        s.add(pos, k, v, 8, 4, YOUNG, YOUNG, false, true);
        Random r = new Random(3);
        for (Segment seg : s.list()) attend(seg, 4, r, new float[12], new int[12], 0);
        s.age(1000, (n, seg, positionBytes) -> 3, AGED, AGED, 0, (received, values, n) -> received, false, 8);
        // 3 + 3 join into one run of 6; the third block starts a new run: the first stops recording
        assertEquals(2, s.list().size());
        assertNull(s.list().get(0).mass(), "a run no block can join keeps no record");
        assertNotEquals(null, s.list().get(1).mass());
        assertEquals(3, s.list().get(1).mass().capacity());
        assertEquals(AgedRunsTest.held(s), acc.held());
    }

    @Test
    void generationWithAnAttentionTailKeepsTheRatioAndChangesTheChoice() {
        String base = BudgetAllocatorTest.BASE + ",window=0,age=32,ak=e8:2,av=e8:1,agerank=attn,ratio=20";
        long[] kept = new long[2];
        int i = 0;
        for (String spec : new String[]{base, base + ",agetail=64"}) {
            CompressedKvCache c = BudgetAllocatorTest.prompted(spec, 640, 11);
            CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(BudgetAllocatorTest.LAYOUT, c, 13);
            d.next = 640;
            for (int s = 0; s < 40; s++) d.step(16, false, false, 0, "");
            double got = c.stats().ratio();
            assertTrue(got > 0.97 * 20 && got < 1.1 * 20, spec + ": " + got);
            assertEquals(c.recountBytes(), c.stats().bytes());
            kept[i++] = positionsHash(c);
        }
        assertNotEquals(kept[0], kept[1], "the tail changes which rows stay");
    }

    private static long positionsHash(CompressedKvCache c) {
        long h = 17;
        for (HeadState[] row : c.headStates()) {
            for (HeadState hd : row) {
                for (Segment seg : hd.segments.list()) {
                    int[] p = new int[seg.rows()];
                    seg.positions().decode(0, seg.rows(), p);
                    h = h * 31 + Arrays.hashCode(p);
                }
            }
        }
        return h;
    }
}
