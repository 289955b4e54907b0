package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamingEvictionTest {

    @Test
    void keepsOnlyTheSinksOfTheCandidates() {
        EvictionPolicy p = EvictionPolicy.streaming(4);
        assertTrue(p.drops());
        assertEquals(4, p.sinks());
        assertEquals(0, p.keepCount(100), "only the sinks (forced in by the cache) and the window survive");
        assertFalse(p.recordsAttention(false));
        assertFalse(p.recordsAttention(true));
        assertEquals(0, p.observationWindow());
        assertArrayEquals(new float[3], p.scores(new Stub(3, true, new float[]{1, 2, 3}, new float[]{1, 2, 3}, null)),
                "streaming ranks nothing");
    }

    @Test
    void specRoundTripsAndDefaultsToFourSinks() {
        assertEquals(new StreamingEviction(4), KvSpec.parse("evict=streaming").eviction());
        assertEquals(new StreamingEviction(2), KvSpec.parse("evict=streaming,sinks=2").eviction());
        EvictionPolicy p = new StreamingEviction(7);
        assertEquals("evict=streaming,sinks=7", p.spec());
        assertEquals(p, KvSpec.parse(p.spec()).eviction());
        assertThrows(IllegalArgumentException.class, () -> new StreamingEviction(-1));
    }
}
