package dev.nexusquant.engine.kv;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvStatsTest {

    @Test
    void printsTheRatioAndTheBitsPerValue() {
        // 100 tokens x 2 layers x 2 (keys, values) x 64 values: 25,600 values, 51,200 fp16 bytes, held in 3,200 bytes
        KvStats s = new KvStats(100, 37.5, 3200, 51200, 25600);
        assertEquals(16.0, s.ratio(), 1e-12);
        assertEquals(1.0, s.bitsPerValue(), 1e-12);
        String text = s.toString();
        assertTrue(text.contains("ratio=16.00x") && text.contains("bitsPerValue=1.00") && text.contains("tokensKept=37.5"), text);
        assertTrue(new KvStats(0, 0, 0, 0, 0).toString().contains("ratio=0.00x"));
        assertEquals("", s.note());
        assertTrue(!text.contains("note="), text);
    }

    @Test
    void printsANoteWhenThereIsOneAndRefusesNull() {
        KvStats s = new KvStats(10, 10, 100, 400, 200, "Hadamard rotation instead");
        assertTrue(s.toString().endsWith(", note=Hadamard rotation instead]"), s.toString());
        assertThrows(IllegalArgumentException.class, () -> new KvStats(1, 1, 1, 1, 1, null));
    }
}
