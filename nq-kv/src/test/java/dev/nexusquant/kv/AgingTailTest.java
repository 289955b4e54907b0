package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.nexusquant.kv.AgedRunsTest.AGED;
import static dev.nexusquant.kv.AgedRunsTest.DIM;
import static dev.nexusquant.kv.AgedRunsTest.YOUNG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rows that age competing with the aged run's newest rows ({@code agetail=N}). */
class AgingTailTest {

    /** [n] norms of rows [n][DIM]. */
    static float[] norms(float[] values, int n) {
        float[] out = new float[n];
        for (int r = 0; r < n; r++) {
            double q = 0;
            for (int c = 0; c < DIM; c++) q += values[r * DIM + c] * (double) values[r * DIM + c];
            out[r] = (float) Math.sqrt(q);
        }
        return out;
    }

    /**
     * An aged run of {@code run} rows at positions 0.. (coded with AGED), then one young block of 4 rows right after
     * it; the block ages keeping 1 row, with {@code tail} rows of the run competing. Returns the store.
     */
    static SegmentStore ageOneBlock(MemoryAccount acc, float[] k, float[] v, int run, int tail, int sinks) {
        SegmentStore s = new SegmentStore(DIM, acc, 256);
        int[] pos = AgedRunsTest.positions(0, run + 4);
        s.add(pos, k, v, 0, run, AGED, AGED, true, false);
        s.add(pos, k, v, run, 4, YOUNG, YOUNG, false, false);
        s.age(1000, (n, seg, positionBytes) -> 1, AGED, AGED, sinks, (received, values, n) -> norms(values, n), true, tail);
        return s;
    }

    @Test
    void theBestOfTheRunsTailAndTheAgingBlockStayWithTheirCodes() {
        for (long seed = 1; seed <= 12; seed++) {
            Random r = new Random(seed);
            int run = 8 + r.nextInt(40), tail = 1 + r.nextInt(run + 8), sinks = 4;
            float[] k = AgedRunsTest.rows(run + 4, seed), v = AgedRunsTest.rows(run + 4, seed + 1000);
            for (int i = 0; i < run + 4; i++) { // rows of very different weights, so that the choice matters
                float w = (float) Math.exp(2 * r.nextGaussian());
                for (int c = 0; c < DIM; c++) v[i * DIM + c] *= w;
            }
            MemoryAccount acc = new MemoryAccount(0);
            SegmentStore s = ageOneBlock(acc, k, v, run, tail, sinks);
            assertEquals(1, s.list().size(), "seed " + seed + ": the block joined the run");
            Segment got = s.list().get(0);
            // expected: the run's rows before its tail, then the best (tail + 1) of the tail and the block by the norm
            // of the values as stored at the aged codecs
            int t = Math.min(tail, run - sinks);
            float[] stored = new float[(run + 4) * DIM];
            CodedRows.encode(AGED, v, 0, run).decode(0, run, stored, 0);
            float[] young = new float[4 * DIM];
            CodedRows.encode(YOUNG, v, run * DIM, 4).decode(0, 4, young, 0);
            CodedRows.encode(AGED, young, 0, 4).decode(0, 4, stored, run * DIM);
            float[] n = norms(stored, run + 4);
            Integer[] cand = new Integer[t + 4];
            for (int i = 0; i < t + 4; i++) cand[i] = run - t + i;
            Arrays.sort(cand, (a, b) -> Float.compare(n[b], n[a]));
            int[] want = new int[run - t + t + 1];
            for (int i = 0; i < run - t; i++) want[i] = i;
            for (int i = 0; i < t + 1; i++) want[run - t + i] = cand[i];
            Arrays.sort(want);
            int[] p = new int[got.rows()];
            got.positions().decode(0, got.rows(), p);
            assertArrayEquals(want, p, "seed " + seed + " run " + run + " tail " + tail);
            // rows of the run keep their codes; the aging row is its young codes coded again with AGED
            float[] have = new float[got.rows() * DIM];
            got.values().decode(0, got.rows(), have, 0);
            for (int i = 0; i < p.length; i++) {
                float[] w = Arrays.copyOfRange(stored, p[i] * DIM, (p[i] + 1) * DIM);
                assertArrayEquals(w, Arrays.copyOfRange(have, i * DIM, (i + 1) * DIM), "seed " + seed + " row " + p[i]);
            }
            got.keys().decode(0, got.rows(), have, 0);
            float[] runKeys = new float[run * DIM];
            CodedRows.encode(AGED, k, 0, run).decode(0, run, runKeys, 0);
            for (int i = 0; i < p.length; i++) {
                float[] w = p[i] < run ? Arrays.copyOfRange(runKeys, p[i] * DIM, (p[i] + 1) * DIM) : AgedRunsTest.agedFromYoung(k, p[i], 1);
                assertArrayEquals(w, Arrays.copyOfRange(have, i * DIM, (i + 1) * DIM), "seed " + seed + " key " + p[i]);
            }
            assertEquals(run + 1, got.rows(), "as many rows as without the tail");
            assertEquals(AgedRunsTest.held(s), acc.held(), "every byte counted");
        }
    }

    @Test
    void withoutATailTheBlockIsCutOnItsOwnAndTheRunStays() {
        float[] k = AgedRunsTest.rows(24, 3), v = AgedRunsTest.rows(24, 4);
        for (int c = 0; c < DIM; c++) v[5 * DIM + c] *= 0.01f; // a weak row in the run: a tail would give it up
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = ageOneBlock(acc, k, v, 20, 0, 4);
        int[] p = new int[21];
        s.list().get(0).positions().decode(0, 21, p);
        for (int i = 0; i < 20; i++) assertEquals(i, p[i]);
        assertTrue(p[20] >= 20);
        MemoryAccount acc2 = new MemoryAccount(0);
        SegmentStore s2 = ageOneBlock(acc2, k, v, 20, 16, 4);
        int[] p2 = new int[21];
        s2.list().get(0).positions().decode(0, 21, p2);
        assertTrue(Arrays.stream(p2).noneMatch(x -> x == 5), "with a tail of 16 the weak row gives way: " + Arrays.toString(p2));
    }

    @Test
    void sinksAreNeverInTheTail() {
        float[] k = AgedRunsTest.rows(12, 5), v = AgedRunsTest.rows(12, 6);
        for (int i = 0; i < 4; i++) for (int c = 0; c < DIM; c++) v[i * DIM + c] *= 0.001f; // sinks with tiny values
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = ageOneBlock(acc, k, v, 8, 256, 4);
        int[] p = new int[9];
        s.list().get(0).positions().decode(0, 9, p);
        for (int i = 0; i < 4; i++) assertEquals(i, p[i], Arrays.toString(p));
    }

    @Test
    void generationWithATailKeepsTheRatio() {
        String base = BudgetAllocatorTest.BASE + ",window=0,age=32,ak=e8:2,av=e8:1,agerank=vnorm,ratio=20";
        for (String spec : new String[]{base, base + ",agetail=64"}) {
            CompressedKvCache c = BudgetAllocatorTest.prompted(spec, 640, 11);
            CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(BudgetAllocatorTest.LAYOUT, c, 13);
            d.next = 640;
            for (int i = 0; i < 40; i++) d.step(16, false, false, 0, "");
            double got = c.stats().ratio();
            assertTrue(got > 0.97 * 20 && got < 1.1 * 20, spec + ": " + got);
            assertEquals(c.recountBytes(), c.stats().bytes());
        }
    }

    @Test
    void theSpecTakesAgetailOnlyWithValueNormAging() {
        KvCompression c = KvSpec.parse("max,agetail=128");
        assertEquals(128, c.ageTail());
        assertEquals(c, KvSpec.parse(KvSpec.format(c)));
        assertEquals(0, KvSpec.parse("max").ageTail());
        for (String bad : new String[]{"max,agetail=-1", "max,agetail=257", "max,agetail=64,agerank=attn",
                "k=e8:3,v=e8:2,evict=snapkv:0.5,agerank=vnorm,agetail=64", "k=e8:3,v=e8:2,age=64,ak=e8:2,av=e8:1,agetail=64"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(bad), bad);
            assertTrue(e.getMessage().contains("agetail"), bad + ": " + e.getMessage());
        }
    }
}
