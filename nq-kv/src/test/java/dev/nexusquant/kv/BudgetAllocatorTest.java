package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BudgetAllocatorTest {

    static final KvLayout LAYOUT = new KvLayout(2, 8, 2, 64, 8192, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 64));
    static final String BASE = "k=e8:4,v=e8:3,evict=snapkv:0.5,block=16,wprec=f16,rot=on,center=kv,sinks=4";

    /** Prefills {@code prompt} random tokens, ends the prompt; returns the cache. */
    static CompressedKvCache prompted(String spec, int prompt, long seed) {
        return prompted(spec, prompt, seed, false);
    }

    /** The same, frozen before the prompt ends when {@code frozen} (the context protocol's order). */
    static CompressedKvCache prompted(String spec, int prompt, long seed, boolean frozen) {
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse(spec).create(LAYOUT);
        CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(LAYOUT, c, seed);
        for (int done = 0; done < prompt; done += 256) d.step(Math.min(256, prompt - done), false, false, 0, "");
        if (frozen) c.freeze();
        c.endOfPrompt();
        return c;
    }

    /** Held bytes against {@code fp16 bytes / r} of the rows seen: never above, and within a fraction of it. */
    static void assertOnTarget(CompressedKvCache c, double r, double floor, String what) {
        long fp16 = c.stats().fp16Bytes();
        long held = c.stats().bytes();
        long target = (long) Math.floor(fp16 / r);
        String w = what + ": held " + held + ", target " + target;
        assertTrue(held <= target, w);
        assertTrue(held >= floor * target, w);
        assertEquals(c.recountBytes(), held, w);
    }

    @Test
    void theRatioTargetIsMetWithinAFractionOfAPercentAndNeverExceeded() {
        String[][] cases = {
                {BASE + ",window=16", "10"}, {BASE + ",window=16", "17"}, {BASE + ",window=0", "33"},
                {BASE + ",window=16,age=64,ak=e8:2,av=e8:1", "17"}, {BASE + ",window=8,keys=pre", "12.5"},
        };
        for (String[] cs : cases) {
            for (int prompt : new int[]{640, 1300, 871}) {
                double r = Double.parseDouble(cs[1]);
                String what = cs[0] + ",ratio=" + cs[1] + " on " + prompt + " tokens";
                // frozen before the prompt ends (the context protocol): the prompt's rows are all there is
                CompressedKvCache f = prompted(cs[0] + ",ratio=" + cs[1], prompt, prompt * 31L + cs[0].length(), true);
                assertOnTarget(f, r, 0.995, what + ", frozen");
                assertTrue(f.stats().ratio() >= r && f.stats().ratio() < r * 1.03, what + ", frozen: " + f.stats().ratio());
                // generating: room for the staging block is kept from the start, so the ratio holds while the
                // first generated rows wait in full precision, one at a time up to a block (with aging on a short
                // prompt the young rows alone can exceed the target: aging brings it back, tested below)
                CompressedKvCache c = prompted(cs[0] + ",ratio=" + cs[1], prompt, prompt * 31L + cs[0].length());
                assertTrue(c.stats().bytes() <= Math.floor(c.stats().fp16Bytes() / r), what + " at the prompt's end");
                if (cs[0].contains("age=")) continue;
                CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(LAYOUT, c, 5);
                d.next = prompt;
                for (int i = 1; i <= 16; i++) {
                    d.step(1, false, false, 0, "");
                    assertOnTarget(c, r, i == 1 ? 0.98 : 0.9, what + ", " + i + " generated");
                }
                assertTrue(c.stats().ratio() >= r && c.stats().ratio() < r * 1.1, what + ": " + c.stats().ratio());
            }
        }
    }

    @Test
    void generationKeepsTheRatioWhenRowsAgeEvenWithoutAWindow() {
        // streaming: rows that age are cut to the plan's share or more while the head is under its budget, so the
        // ratio over every row stays near the target (window=0 once kept young rows forever: nothing aged)
        for (String spec : new String[]{BASE + ",window=0,age=32,ak=e8:2,av=e8:1,ratio=20",
                BASE + ",window=16,age=64,ak=e8:2,av=e8:1,ratio=12"}) {
            CompressedKvCache c = prompted(spec, 640, 11);
            double r = KvSpec.parse(spec).ratio();
            CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(LAYOUT, c, 13);
            d.next = 640;
            for (int i = 0; i < 40; i++) d.step(16, false, false, 0, "");
            double got = c.stats().ratio();
            assertTrue(got > 0.95 * r && got < 1.1 * r, spec + ": " + got);
            for (CompressedKvCache.SegmentView s : c.inspect(1, 0).segments()) {
                int last = s.positions()[s.positions().length - 1];
                if (last < 640 + 640 - 1 - KvSpec.parse(spec).ageAfter() - 16) assertTrue(s.aged(), spec + ": segment ending at " + last);
            }
            assertEquals(c.recountBytes(), c.stats().bytes());
        }
    }

    @Test
    void eachHeadHoldsWhatItsPlanSays() {
        CompressedKvCache c = prompted(BASE + ",window=16,ratio=15", 900, 7);
        HeadPlan[][] plans = c.plans();
        String report = c.allocation();
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                HeadPlan p = plans[l][h];
                assertNotNull(p);
                assertEquals(900 - 16, p.oldRows());
                assertTrue(report.contains(p.describe()), report);
                CompressedKvCache.HeadView v = c.inspect(l, h);
                assertEquals(16, v.windowPositions().length);
                int rows = 0;
                for (CompressedKvCache.SegmentView s : v.segments()) {
                    rows += s.positions().length;
                    assertEquals(p.keyCodec(), s.keyCodec());
                    assertEquals(p.valueCodec(), s.valueCodec());
                }
                assertEquals(p.keep(), rows, p.describe());
                int[] pos = v.positions();
                for (int i = 0; i < 4; i++) assertEquals(i, pos[i], "sinks kept: " + p.describe());
            }
        }
    }

    @Test
    void measuringOnVectorLanesAgreesWithThePlainLoops() {
        // the allocator's dot products and row sums run on the cache's kernels; on random heads the vector kernels
        // give every option the same rows and bytes and its error within float rounding of the plain loops
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        java.util.Random rnd = new java.util.Random(seed);
        for (int trial = 0; trial < 6; trial++) {
            int dim = trial % 2 == 0 ? 64 : 128, group = 1 + rnd.nextInt(4), rows = 200 + rnd.nextInt(300);
            int cand = rows - rnd.nextInt(17), old = cand - 32 - rnd.nextInt(64), sinks = 4, nq = 16;
            float[] k = gaussian(rnd, rows * dim, 1f), v = gaussian(rnd, rows * dim, 1f);
            int[] pos = new int[rows];
            for (int r = 0; r < rows; r++) pos[r] = r;
            java.util.List<Integer> rest = new ArrayList<>();
            for (int r = sinks; r < old; r++) rest.add(r);
            java.util.Collections.shuffle(rest, rnd);
            int[] rank = new int[old];
            for (int r = 0; r < sinks; r++) rank[r] = r;
            for (int r = sinks; r < old; r++) rank[r] = rest.get(r - sinks);
            float[][] keyDec = new float[BudgetAllocator.KEY_CODECS.length][];
            float[][] valueDec = new float[BudgetAllocator.VALUE_CODECS.length][];
            for (int c = 0; c < keyDec.length; c++) keyDec[c] = noisy(rnd, k, old * dim, 0.3f / (c + 1));
            for (int c = 0; c < valueDec.length; c++) valueDec[c] = noisy(rnd, v, old * dim, 0.5f / (c + 1));
            float[] youngK = noisy(rnd, java.util.Arrays.copyOfRange(k, old * dim, cand * dim), (cand - old) * dim, 0.1f);
            float[] youngV = noisy(rnd, java.util.Arrays.copyOfRange(v, old * dim, cand * dim), (cand - old) * dim, 0.1f);
            float[] q = gaussian(rnd, nq * group * dim, 1.5f);
            int[] qpos = new int[nq];
            for (int j = 0; j < nq; j++) qpos[j] = rows - nq + j;
            java.util.function.IntToLongFunction[][] bytes = bytesPerOption(dim, keyDec.length, valueDec.length);
            BudgetAllocator.HeadData d = new BudgetAllocator.HeadData(dim, group, rows, k, v, pos, old, cand, rank, sinks,
                    keyDec, valueDec, youngK, youngV, q, qpos, nq, bytes);
            List<BudgetAllocator.Option> plain = BudgetAllocator.measure(d, dev.nexusquant.engine.tensor.Kernels.scalar());
            List<BudgetAllocator.Option> lanes = BudgetAllocator.measure(d, dev.nexusquant.engine.tensor.Kernels.vector());
            assertEquals(plain.size(), lanes.size());
            for (int i = 0; i < plain.size(); i++) {
                BudgetAllocator.Option a = plain.get(i), b = lanes.get(i);
                String what = "seed " + seed + " trial " + trial + " option " + a;
                assertEquals(a.keep(), b.keep(), what);
                assertEquals(a.bytes(), b.bytes(), what);
                assertEquals(a.error(), b.error(), 1e-3 * a.error() + 1e-9, what + " vs " + b.error());
            }
            assertTrue(plain.getFirst().error() > plain.getLast().error(), "keeping every row at the best codecs must help");
        }
    }

    @Test
    void measuringMoreQueriesSumsTheErrorsOfEachQuery() {
        // planq=N: an option's error is the sum over the last N queries, so 64 queries measure what four slices of 16
        // measure together, and the default measures only the last 16
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        java.util.Random rnd = new java.util.Random(seed);
        int dim = 64, group = 2, rows = 300, cand = 290, old = 230, sinks = 4, nq = 80;
        float[] k = gaussian(rnd, rows * dim, 1f), v = gaussian(rnd, rows * dim, 1f);
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) pos[r] = r;
        int[] rank = new int[old];
        for (int r = 0; r < old; r++) rank[r] = r < sinks ? r : old - 1 - (r - sinks);
        float[][] keyDec = new float[BudgetAllocator.KEY_CODECS.length][];
        float[][] valueDec = new float[BudgetAllocator.VALUE_CODECS.length][];
        for (int c = 0; c < keyDec.length; c++) keyDec[c] = noisy(rnd, k, old * dim, 0.3f / (c + 1));
        for (int c = 0; c < valueDec.length; c++) valueDec[c] = noisy(rnd, v, old * dim, 0.5f / (c + 1));
        float[] youngK = noisy(rnd, java.util.Arrays.copyOfRange(k, old * dim, cand * dim), (cand - old) * dim, 0.1f);
        float[] youngV = noisy(rnd, java.util.Arrays.copyOfRange(v, old * dim, cand * dim), (cand - old) * dim, 0.1f);
        float[] q = gaussian(rnd, nq * group * dim, 1.5f);
        int[] qpos = new int[nq];
        for (int j = 0; j < nq; j++) qpos[j] = rows - nq + j; // the earlier queries see fewer rows
        java.util.function.IntToLongFunction[][] bytes = bytesPerOption(dim, keyDec.length, valueDec.length);
        var kn = dev.nexusquant.engine.tensor.Kernels.scalar();
        java.util.function.IntFunction<BudgetAllocator.HeadData> firstQueries = n -> new BudgetAllocator.HeadData(dim, group,
                rows, k, v, pos, old, cand, rank, sinks, keyDec, valueDec, youngK, youngV,
                java.util.Arrays.copyOf(q, n * group * dim), java.util.Arrays.copyOf(qpos, n), n, bytes);
        List<BudgetAllocator.Option> all = BudgetAllocator.measure(firstQueries.apply(nq), 64, kn);
        double[] sum = new double[all.size()];
        for (int slice = 0; slice < 4; slice++) { // queries [16 + 16 slice, 32 + 16 slice): the last 16 of the first 32 + 16 slice
            List<BudgetAllocator.Option> part = BudgetAllocator.measure(firstQueries.apply(32 + 16 * slice), kn);
            assertEquals(all.size(), part.size());
            for (int i = 0; i < sum.length; i++) sum[i] += part.get(i).error();
        }
        List<BudgetAllocator.Option> last16 = BudgetAllocator.measure(firstQueries.apply(nq), kn);
        List<BudgetAllocator.Option> lastSlice = BudgetAllocator.measure(firstQueries.apply(nq), 16, kn);
        boolean differs = false;
        for (int i = 0; i < sum.length; i++) {
            String what = "seed " + seed + " option " + all.get(i);
            assertEquals(sum[i], all.get(i).error(), 1e-9 * sum[i] + 1e-12, what);
            assertEquals(last16.get(i).error(), lastSlice.get(i).error(), 0.0, what);
            differs |= Math.abs(last16.get(i).error() - all.get(i).error()) > 1e-6 * all.get(i).error();
        }
        assertTrue(differs, "64 queries measure more than the last 16");
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(BASE + ",ratio=10,planq=0"));
        assertEquals(64, KvSpec.parse(BASE + ",ratio=10,planq=64").planQueries());
        assertEquals(BudgetAllocator.QUERIES, KvSpec.parse(BASE + ",ratio=10").planQueries());
    }

    private static float[] gaussian(java.util.Random rnd, int n, float sd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian() * sd;
        return x;
    }

    private static float[] noisy(java.util.Random rnd, float[] x, int n, float sd) {
        float[] y = new float[n];
        for (int i = 0; i < n; i++) y[i] = x[i] + (float) rnd.nextGaussian() * sd;
        return y;
    }

    @Test
    void theHullFallsAndIsConvex() {
        List<BudgetAllocator.Option> o = new ArrayList<>();
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 60; i++) o.add(new BudgetAllocator.Option(i, 0, 0, 10 + rnd.nextInt(1000), rnd.nextDouble()));
        List<BudgetAllocator.Option> h = BudgetAllocator.hull(o);
        for (int i = 1; i < h.size(); i++) {
            assertTrue(h.get(i).bytes() > h.get(i - 1).bytes());
            assertTrue(h.get(i).error() < h.get(i - 1).error());
        }
        for (int i = 2; i < h.size(); i++) {
            double s1 = (h.get(i - 1).error() - h.get(i - 2).error()) / (h.get(i - 1).bytes() - h.get(i - 2).bytes());
            double s2 = (h.get(i).error() - h.get(i - 1).error()) / (h.get(i).bytes() - h.get(i - 1).bytes());
            assertTrue(s2 >= s1 - 1e-12, "slopes must flatten: " + s1 + " then " + s2);
        }
        // nothing lies below the hull
        for (BudgetAllocator.Option x : o) {
            for (int i = 1; i < h.size(); i++) {
                BudgetAllocator.Option a = h.get(i - 1), b = h.get(i);
                if (x.bytes() >= a.bytes() && x.bytes() <= b.bytes()) {
                    double at = a.error() + (b.error() - a.error()) * (x.bytes() - a.bytes()) / (double) (b.bytes() - a.bytes());
                    assertTrue(x.error() >= at - 1e-12);
                }
            }
        }
    }

    @Test
    void theBudgetGoesWhereItRemovesTheMostError() {
        // head 0 loses a lot when cut, head 1 hardly anything: bytes = 10 per row
        List<List<BudgetAllocator.Option>> opts = new ArrayList<>();
        for (double weight : new double[]{100, 1}) {
            List<BudgetAllocator.Option> o = new ArrayList<>();
            for (int keep = 0; keep <= 100; keep += 10) o.add(new BudgetAllocator.Option(keep, 0, 0, 10L * keep, weight * (100 - keep)));
            opts.add(o);
        }
        BudgetAllocator.Option[] c = BudgetAllocator.choose(opts, new int[]{100, 100}, 1000,
                (i, x) -> 10L * x.keep());
        assertEquals(100, c[0].keep());
        assertEquals(0, c[1].keep());
        // a budget between steps is spent on rows: exactly full
        c = BudgetAllocator.choose(opts, new int[]{100, 100}, 1234, (i, x) -> 10L * x.keep());
        assertEquals(1230, c[0].bytes() + c[1].bytes());
    }

    @Test
    void ratioNeedsAnEvictingPolicyAndNoPins() {
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("k=e8:4,v=e8:3,ratio=10"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(BASE + ",pin=2,ratio=10"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(BASE + ",ratio=0.5"));
        KvCompression c = KvSpec.parse(BASE + ",ratio=17");
        assertEquals(c, KvSpec.parse(KvSpec.format(c)));
    }

    @Test
    void aFrozenCacheKeepsNewRowsInFullPrecisionAndCompressesNothingMore() {
        CompressedKvCache c = prompted(BASE + ",window=16,ratio=10", 600, 5);
        long segBytes = 0;
        for (CompressedKvCache.SegmentView s : c.inspect(1, 1).segments()) segBytes += s.bytes();
        c.freeze();
        assertEquals(Integer.MAX_VALUE, c.maxAppend());
        CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(LAYOUT, c, 9);
        d.next = 600;
        d.step(300, false, false, 0, "");
        CompressedKvCache.HeadView v = c.inspect(1, 1);
        long after = 0;
        for (CompressedKvCache.SegmentView s : v.segments()) after += s.bytes();
        assertEquals(segBytes, after);
        assertEquals(316, v.windowPositions().length);
        assertEquals(c.recountBytes(), c.stats().bytes());
    }

    /** Bytes of n rows at key codec c and value codec e: (c + 2) and (e + 1) bits a value, plus a 4-byte position. */
    private static java.util.function.IntToLongFunction[][] bytesPerOption(int dim, int keyCodecs, int valueCodecs) {
        java.util.function.IntToLongFunction[][] bytes = new java.util.function.IntToLongFunction[keyCodecs][valueCodecs];
        for (int c = 0; c < keyCodecs; c++) {
            for (int e = 0; e < valueCodecs; e++) {
                int per = (c + 2) * dim / 8 + (e + 1) * dim / 8 + 4;
                bytes[c][e] = n -> (long) n * per;
            }
        }
        return bytes;
    }
}
