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

    /**
     * The ring grows as queries come (a short prompt allocates little) and holds, slot for slot, what a ring allocated
     * whole would: the last {@code slots} queries at slot {@code index % slots}, the rest 0; it is charged all its slots.
     */
    @Test
    void growsAsQueriesComeAndHoldsWhatAWholeRingWould() {
        Random rnd = new Random(20261204);
        for (int trial = 0; trial < 40; trial++) {
            int slots = 1 + rnd.nextInt(trial < 20 ? 200 : 1500), group = 1 + rnd.nextInt(3), dim = 8 * (1 + rnd.nextInt(4));
            int width = group * dim;
            PromptQueryRing ring = new PromptQueryRing(slots, group, dim);
            assertTrue(ring.allocated() <= Math.min(slots, PromptQueryRing.FIRST_ALLOCATION), "allocated before any query");
            assertEquals(slots * PromptQueryRing.slotBytes(group, dim), ring.bytes(), "charged every slot");
            short[] want = new short[slots * width];
            int[] wantPos = new int[slots];
            int total = 0, recorded = 0, calls = 1 + rnd.nextInt(6);
            for (int c = 0; c < calls; c++) {
                int n = 1 + rnd.nextInt(trial % 2 == 0 ? 40 : 700);
                int[] pos = new int[n];
                float[] qv = new float[n * width];
                for (int i = 0; i < n; i++) {
                    pos[i] = total + i;
                    for (int x = 0; x < width; x++) qv[i * width + x] = (float) rnd.nextGaussian();
                }
                ring.record(n, pos, qv);
                // the whole ring's definition: a call keeps its last `slots` queries, the k-th recorded at slot k % slots
                int start = Math.max(0, n - slots);
                for (int i = start; i < n; i++) {
                    int slot = (recorded + i - start) % slots;
                    for (int x = 0; x < width; x++) want[slot * width + x] = Float.floatToFloat16(qv[i * width + x]);
                    wantPos[slot] = pos[i];
                }
                recorded += n - start;
                total += n;
                assertEquals(recorded, ring.recorded);
                assertEquals(Math.min(total, slots), ring.held());
                assertTrue(ring.allocated() >= Math.min(total, slots) && ring.allocated() <= slots,
                        "allocated " + ring.allocated() + " after " + total + " of " + slots);
                assertArrayEquals(want, ring.allQueries(), "trial " + trial + " call " + c);
                assertArrayEquals(wantPos, ring.allPositions(), "trial " + trial + " call " + c);
                float[] f = ring.toFloats();
                assertEquals(slots * width, f.length);
                for (int x = 0; x < f.length; x++) assertEquals(Float.float16ToFloat(want[x]), f[x]);
            }
            if (total < slots / 2 && slots > 2 * PromptQueryRing.FIRST_ALLOCATION) {
                assertTrue(ring.allocated() < slots, "a short prompt does not allocate every slot");
            }
            ring.allocateAll();
            assertEquals(slots, ring.allocated());
            assertArrayEquals(want, ring.allQueries(), "allocating every slot keeps what was recorded");
        }
    }
}
