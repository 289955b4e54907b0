package dev.nexusquant.eval.perplexity;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkSelectionTest {

    @Test
    void devAndReportNeverShareAChunk() {
        int[] dev = new ChunkSelection("dev").select(116, 0, 0);
        int[] report = new ChunkSelection("report").select(116, 0, 0);
        assertEquals(24, dev.length);
        assertEquals(23, report.length);
        Set<Integer> d = new HashSet<>();
        for (int c : dev) {
            assertEquals(0, c % 5);
            d.add(c);
        }
        for (int c : report) {
            assertEquals(2, c % 5);
            assertTrue(!d.contains(c));
        }
        assertArrayEquals(new int[]{0, 5, 10}, new ChunkSelection("dev").select(116, 0, 3));
        assertArrayEquals(new int[]{12, 17}, new ChunkSelection("report").select(116, 10, 2));
    }

    @Test
    void listsAndRanges() {
        assertArrayEquals(new int[]{3, 7, 10, 11, 12}, new ChunkSelection("7,3,10-12").select(20, 0, 0));
        assertArrayEquals(new int[]{0, 1, 2, 3}, new ChunkSelection("all").select(4, 0, 0));
        assertArrayEquals(new int[]{2, 3}, new ChunkSelection("all").select(4, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new ChunkSelection("7,x"));
        assertThrows(IllegalArgumentException.class, () -> new ChunkSelection("5-2"));
        assertThrows(IllegalArgumentException.class, () -> new ChunkSelection("3,40").select(20, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new ChunkSelection("report").select(2, 0, 0));
    }

    @Test
    void spreadIsMedianMinMax() {
        Spread s = Spread.of(new double[]{3, -1, 10, 2});
        assertEquals(2.5, s.median());
        assertEquals(-1, s.min());
        assertEquals(10, s.max());
        assertEquals(3, Spread.of(new double[]{3, 9, 1}).median());
        assertThrows(IllegalArgumentException.class, () -> Protocol.parse("bogus"));
        assertEquals(Protocol.CONTEXT, Protocol.parse("Context"));
    }
}
