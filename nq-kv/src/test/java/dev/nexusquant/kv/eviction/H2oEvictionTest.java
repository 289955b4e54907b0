package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class H2oEvictionTest {

    @Test
    void ranksBySummedAttentionOnThePromptAndByTheMeanLater() {
        EvictionPolicy p = EvictionPolicy.h2o(0.5);
        float[] sums = {5, 1, 9, 2, 7}, means = {0.5f, 0.9f, 0.1f, 0.2f, 0.3f};
        assertArrayEquals(new float[]{5, 1, 9}, p.scores(new Stub(3, true, sums, means, null)));
        assertArrayEquals(new float[]{0.5f, 0.9f, 0.1f}, p.scores(new Stub(3, false, sums, means, null)));
        assertArrayEquals(new float[4], p.scores(Stub.of(4, true)), "nothing recorded: all equal");
    }

    @Test
    void recordsAttentionOnThePromptAndAfterWhenItDrops() {
        EvictionPolicy p = EvictionPolicy.h2o(0.25);
        assertTrue(p.drops());
        assertTrue(p.recordsAttention(false));
        assertTrue(p.recordsAttention(true));
        assertEquals(0, p.observationWindow());
        EvictionPolicy all = new H2oEviction(1.0, 4);
        assertFalse(all.drops());
        assertFalse(all.recordsAttention(false));
    }

    @Test
    void keepsTheRoundedShare() {
        EvictionPolicy p = new H2oEviction(0.25, 4);
        assertEquals(20, p.keepCount(80));
        assertEquals(3, p.keepCount(10), "round(2.5) = 3");
        assertEquals(0, p.keepCount(0));
        assertThrows(IllegalArgumentException.class, () -> new H2oEviction(0, 4));
        assertThrows(IllegalArgumentException.class, () -> new H2oEviction(1.5, 4));
    }

    @Test
    void specRoundTrips() {
        EvictionPolicy p = new H2oEviction(0.3, 6);
        assertEquals("evict=h2o:0.3,sinks=6", p.spec());
        assertEquals(p, KvSpec.parse(p.spec()).eviction());
        assertEquals(new H2oEviction(0.5, 4), KvSpec.parse("evict=h2o:0.5").eviction());
        assertEquals(new H2oEviction(0.2, 4), KvSpec.parse("evict=h2o:0.5,keep=0.2").eviction());
    }
}
