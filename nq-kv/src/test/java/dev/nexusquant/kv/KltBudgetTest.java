package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.e8.E8MixedCodec;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The byte-budget plan ({@code ratio=R}) with {@code rot=klt}: the allocator prices every option with the rows coded as
 * they will be stored (the head's decorrelating transform and its rates by variance), the prompt bases it fitted are
 * the ones the rows are coded with and are counted, and the target still holds.
 */
class KltBudgetTest {

    static final String BASE = "k=e8:4,v=e8:3,evict=snapkv:0.5,block=8,wprec=f16,center=kv,sinks=4";

    @Test
    void theRatioTargetHoldsWithinThreePercentAndAttentionRunsOnTheCodedRows() {
        String[] specs = {
                BASE + ",window=8,rot=klt:k", BASE + ",window=8,keys=pre,rot=klt:v",
                BASE + ",window=0,age=64,ak=e8:2,av=e8:1,keys=pre,rot=klt",
                BASE + ",window=0,age=64,ak=e8:2,av=e8:1,rot=klt,kbal=on",
        };
        for (String spec : specs) {
            for (String ratio : new String[]{"8", "17"}) {
                for (int prompt : new int[]{spec.contains("kbal") ? 1100 : 500}) {
                    double r = Double.parseDouble(ratio);
                    CompressedKvCache c = (CompressedKvCache) KvSpec.parse(spec + ",ratio=" + ratio).create(KltCacheTest.LAYOUT);
                    // frozen before the prompt ends (the context protocol): the prompt's rows are all there is
                    KltCacheTest.run(c, prompt, prompt * 7L + spec.length(), false, true);
                    long fp16 = c.stats().fp16Bytes(), held = c.stats().bytes(), target = (long) Math.floor(fp16 / r);
                    String what = spec + ",ratio=" + ratio + " on " + prompt + " tokens: held " + held + ", target " + target;
                    assertTrue(held <= target, what);
                    assertTrue(held >= 0.97 * target, what);
                    assertEquals(c.recountBytes(), held, what);
                    if (ratio.equals("17")) {
                        // generating: room for the staging block is kept; run() checks attention on the coded form
                        // against dense attention over the decoded rows (2e-5)
                        CompressedKvCache d = (CompressedKvCache) KvSpec.parse(spec + ",ratio=" + ratio).create(KltCacheTest.LAYOUT);
                        KltCacheTest.run(d, prompt, prompt * 7L + spec.length(), true);
                    }
                }
            }
        }
    }

    @Test
    void eachHeadCodesItsPlannedRowsWithTheBasisThePlanPriced() {
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse(BASE + ",window=8,rot=klt,ratio=10").create(KltCacheTest.LAYOUT);
        KltCacheTest.run(c, 900, 11, false);
        HeadPlan[][] plans = c.plans();
        for (int l = 0; l < KltCacheTest.LAYOUT.layers(); l++) {
            for (int h = 0; h < KltCacheTest.LAYOUT.kvHeads(); h++) {
                HeadPlan p = plans[l][h];
                assertNotNull(p);
                RowTransform t = c.head(l, h).transform;
                assertNotNull(t.keyKlt());
                assertEquals(0, t.keyKlt().reserve(), "a planned basis is counted beside the rows, not in them");
                int rows = 0;
                long bytes = 0;
                for (CompressedKvCache.SegmentView s : c.inspect(l, h).segments()) {
                    rows += s.positions().length;
                    assertInstanceOf(E8MixedCodec.class, s.keyCodec());
                    assertSame(t.keyCodec(p.keyCodec()), s.keyCodec(), p.describe());
                    assertSame(t.valueCodec(p.valueCodec()), s.valueCodec(), p.describe());
                    bytes += CodedRows.bytesFor(s.keyCodec(), s.positions().length) + CodedRows.bytesFor(s.valueCodec(), s.positions().length);
                }
                assertEquals(p.keep(), rows, p.describe());
                // generation's counts use the codecs the rows are stored with (the head's rates by variance)
                assertSame(t.keyCodec(p.keyCodec()), p.storedKey(), p.describe());
                assertSame(t.valueCodec(p.valueCodec()), p.storedValue(), p.describe());
                // the plan's bytes are the rows' codes at the mapped codecs plus their positions
                assertTrue(p.bytes() >= bytes && p.bytes() - bytes <= 12 + 8 * ((900 + 63) / 64), p.describe() + ": plan "
                        + p.bytes() + " bytes, codes " + bytes);
            }
        }
    }

    @Test
    void kltKeysAreOfferedOneBitCodesAndTheirPlansSurviveSaveAndRestore() throws Exception {
        assertArrayEquals(new String[]{"e8:1", "e8:2", "e8:3", "e8:4"}, BudgetAllocator.keyCodecs(KvSpec.parse(BASE + ",rot=klt,ratio=10")));
        assertArrayEquals(BudgetAllocator.KEY_CODECS, BudgetAllocator.keyCodecs(KvSpec.parse(BASE + ",rot=klt:v,ratio=10")));
        assertArrayEquals(BudgetAllocator.KEY_CODECS, BudgetAllocator.keyCodecs(KvSpec.parse(BASE + ",rot=on,ratio=10")));
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse(BASE + ",window=8,rot=klt,ratio=24").create(KltCacheTest.LAYOUT);
        KltCacheTest.run(c, 900, 31, false);
        var out = new dev.nexusquant.codec.state.StateOutput();
        c.writeState(out);
        CompressedKvCache r = CacheState.read(KltCacheTest.LAYOUT, c.settings(),
                new dev.nexusquant.codec.state.StateInput(out.toByteArray(), Long.MAX_VALUE));
        for (int l = 0; l < KltCacheTest.LAYOUT.layers(); l++) {
            for (int h = 0; h < KltCacheTest.LAYOUT.kvHeads(); h++) {
                HeadPlan a = c.plans()[l][h], b = r.plans()[l][h];
                assertEquals(a.describe(), b.describe());
                assertEquals(a.storedKey().descriptor(), b.storedKey().descriptor(), a.describe());
                assertEquals(a.bytesFor(100, 900), b.bytesFor(100, 900), a.describe());
            }
        }
    }

    @Test
    void onLowRankRowsTheKltPlanMeasuresLessErrorAtTheSameRatio() {
        // keys and values near a 6-dimensional subspace (as appended): priced with the transform, the plan's measured
        // attention error is far below the Hadamard plan's at the same byte target
        double eh = 0, ek = 0;
        for (String rot : new String[]{"on", "klt"}) {
            CompressedKvCache c = (CompressedKvCache) KvSpec.parse(BASE + ",window=8,rot=" + rot + ",ratio=12").create(KltCacheTest.LAYOUT);
            KltCacheTest.run(c, 900, 21, false);
            double e = 0;
            for (HeadPlan[] row : c.plans()) for (HeadPlan p : row) e += p.error();
            if (rot.equals("on")) eh = e;
            else ek = e;
        }
        // (measured: 126.5 against 235.2; what is left is mostly the evicted rows' share, equal for both)
        assertTrue(ek < 0.75 * eh, "klt plan error " + ek + ", hadamard " + eh);
    }

    @Test
    void aHardMemoryBudgetIsNeverExceededWithKlt() {
        // BALANCED with the KLT (prompt bases) under a 128 KiB budget: a 64-token prompt, then 16 tokens per step; the
        // cache never holds more than the budget (a refusal, if any, is typed and leaves it within)
        KvLayout l = KltCacheTest.LAYOUT;
        long budget = 128L << 10; // 256 tokens of this layout in fp16
        KvCache c = KvSpec.parse(Presets.BALANCED + ",keys=pre,rot=klt").withMemoryBudget(budget).create(l);
        java.util.Random rnd = new java.util.Random(9);
        int next = 0;
        try {
            while (next < 4_000) {
                int n = next == 0 ? 64 : 16;
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = next + i;
                for (int layer = 0; layer < l.layers(); layer++) {
                    float[] k = new float[n * l.kvDim()], v = new float[n * l.kvDim()], q = new float[n * l.qDim()];
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) rnd.nextGaussian() * (1 + i % 5) + (i % 9 == 0 ? 2f : 0f);
                        v[i] = (float) rnd.nextGaussian();
                    }
                    for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                    c.append(layer, n, pos, k, v);
                    float[] out = new float[q.length];
                    for (int h = 0; h < l.kvHeads(); h++) c.attend(layer, h, n, pos, q, out);
                }
                if (next == 0) c.endOfPrompt();
                next += n;
                assertTrue(c.stats().bytes() <= budget, "held " + c.stats().bytes() + " at " + next + " tokens");
            }
        } catch (KvMemoryExceededException e) {
            assertTrue(c.stats().bytes() <= e.budget(), "held " + c.stats().bytes() + " when refused");
        }
        // with a ratio target the budget is spent as a target: the cache never runs out, it cuts rows as they age
        assertTrue(next >= 4_000, "tokens before the cap: " + next);
    }
}
