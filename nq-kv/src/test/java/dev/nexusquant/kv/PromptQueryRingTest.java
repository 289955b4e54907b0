package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvLayout;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The prompt's query rings take at most their share of a memory budget, and hold the last queries that fit. */
class PromptQueryRingTest {

    /** MemoryBudgetTest's small layout: 4 layers, 2 KV heads of 64, one query head each: 132 bytes a slot. */
    static final KvLayout SMALL = MemoryBudgetTest.SMALL;

    @Test
    void withoutABudgetTheRingHoldsWhatIsAsked() {
        assertEquals(256, PromptQueryRing.slots(256, 16, 0, 8, 1, 64));
        assertEquals(7, PromptQueryRing.slots(7, 16, 0, 8, 1, 64));
    }

    @Test
    void underABudgetTheRingsTakeAtMostTheirShare() {
        long budget = 400 * 1024;
        // 409,600 / 8 / 8 heads / 132 bytes = 48.48
        assertEquals(48, PromptQueryRing.slots(256, 16, budget, 8, 1, 64));
        assertEquals(32, PromptQueryRing.slots(32, 16, budget, 8, 1, 64), "fewer asked than fit: all of them");
        for (long b : new long[]{100_000, 400 * 1024, 1L << 20, 5L << 20, 64L << 20}) {
            for (int group : new int[]{1, 4}) {
                int slots = PromptQueryRing.slots(256, 16, b, 8, group, 64);
                long rings = 8L * slots * PromptQueryRing.slotBytes(group, 64);
                assertTrue(slots == 16 || rings <= b / PromptQueryRing.BUDGET_SHARE, b + " " + group + ": " + slots);
                assertTrue(slots == 256 || 8L * (slots + 1) * PromptQueryRing.slotBytes(group, 64) > b / PromptQueryRing.BUDGET_SHARE,
                        "as many as fit: " + slots);
            }
        }
        assertEquals(256, PromptQueryRing.slots(256, 16, 64L << 20, 8, 1, 64), "a budget that does not bind changes nothing");
    }

    @Test
    void neverFewerThanTheAllocatorMeasuresWith() {
        assertEquals(16, PromptQueryRing.slots(256, 16, 1024, 8, 4, 128));
        assertEquals(5, PromptQueryRing.slots(5, 16, 1024, 8, 4, 128), "nor more than asked");
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> PromptQueryRing.slots(0, 16, 0, 8, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> PromptQueryRing.slots(64, 0, 0, 8, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> PromptQueryRing.slots(64, 16, 0, 0, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> PromptQueryRing.slots(64, 16, 0, 8, 1, 0));
    }

    /** The heads' rings of a cache and what its stats note, under a 400 KiB budget and without one. */
    @Test
    void aCacheUnderABudgetHoldsTheLastQueriesThatFitAndSaysSo() {
        long budget = 400 * 1024;
        for (Quality q : Quality.values()) {
            int asked = q.config().eviction().observationWindow();
            CompressedKvCache plain = (CompressedKvCache) q.config().create(SMALL);
            CompressedKvCache tight = (CompressedKvCache) q.config().withMemoryBudget(budget).create(SMALL);
            int slots = PromptQueryRing.slots(asked, BudgetAllocator.QUERIES, budget, 8, 1, 64);
            assertTrue(slots < asked, q + ": the budget binds in this test: " + slots + " of " + asked);
            int n = 100;
            Random rnd = new Random(3);
            float[][] queries = new float[SMALL.layers()][];
            for (CompressedKvCache c : new CompressedKvCache[]{plain, tight}) {
                rnd.setSeed(3);
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = i;
                for (int l = 0; l < SMALL.layers(); l++) {
                    float[] k = new float[n * SMALL.kvDim()], v = new float[n * SMALL.kvDim()], qv = new float[n * SMALL.qDim()];
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) rnd.nextGaussian();
                        v[i] = (float) rnd.nextGaussian();
                    }
                    for (int i = 0; i < qv.length; i++) qv[i] = (float) rnd.nextGaussian();
                    queries[l] = qv;
                    c.append(l, n, pos, k, v);
                    for (int h = 0; h < SMALL.kvHeads(); h++) c.attend(l, h, n, pos, qv, new float[qv.length]);
                }
            }
            long rings = 0;
            for (int l = 0; l < SMALL.layers(); l++) {
                for (int h = 0; h < SMALL.kvHeads(); h++) {
                    PromptQueryRing a = plain.head(l, h).promptQueries, b = tight.head(l, h).promptQueries;
                    assertNotNull(b);
                    assertEquals(asked, a.slots(), q + " without a budget");
                    assertEquals(slots, b.slots(), q + " under the budget");
                    rings += b.bytes();
                    // the tight ring holds the last `slots` of the 100 queries, each as the plain ring holds it
                    assertEquals(slots, b.held());
                    for (int s = 0; s < slots; s++) {
                        int p = b.positions[s];
                        assertTrue(p >= n - slots && p < n, q + ": position " + p);
                        short[] want = new short[64], got = new short[64];
                        System.arraycopy(b.queries, s * 64, got, 0, 64);
                        for (int i = 0; i < 64; i++) want[i] = Float.floatToFloat16(queries[l][(p * SMALL.kvHeads() + h) * 64 + i]);
                        assertArrayEquals(want, got, q + " L" + l + "H" + h + " position " + p);
                    }
                }
            }
            assertTrue(rings <= budget / PromptQueryRing.BUDGET_SHARE, q + ": rings " + rings + " of " + budget);
            assertEquals("", plain.stats().note(), q + ": nothing to note without a budget");
            assertTrue(tight.stats().note().contains(slots + " of the prompt's last " + asked), tight.stats().note());
        }
    }
}
