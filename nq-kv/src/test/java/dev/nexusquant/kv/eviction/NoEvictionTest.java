package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class NoEvictionTest {

    @Test
    void keepsEverythingAndRecordsNothing() {
        EvictionPolicy p = EvictionPolicy.none();
        assertFalse(p.drops());
        assertEquals(0, p.sinks());
        assertEquals(17, p.keepCount(17));
        assertEquals(0, p.observationWindow());
        assertFalse(p.recordsAttention(false));
        assertFalse(p.recordsAttention(true));
        assertArrayEquals(new float[5], p.scores(Stub.of(5, true)));
        assertEquals("evict=none", p.spec());
        assertEquals(p, KvSpec.parse("k=fp16,v=fp16," + p.spec()).eviction());
        assertEquals(p, KvSpec.parse("evict=snapkv:0.5,sinks=2,evict=none").eviction(), "none resets the settings");
    }
}
