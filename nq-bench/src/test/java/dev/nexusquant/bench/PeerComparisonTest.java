package dev.nexusquant.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PeerComparisonTest {

    @Test
    void warmUpSamplesAreDroppedFromTheFrontInRunOrder() {
        assertArrayEquals(new double[]{12.5, 11.0, 13.25}, PeerComparison.timedSamples(" 3.0, 7.5,12.5, 11.0 ,13.25", 2));
        assertArrayEquals(new double[]{3.0, 7.5}, PeerComparison.timedSamples("3.0, 7.5", 0));
        assertThrows(IllegalStateException.class, () -> PeerComparison.timedSamples("3.0, 7.5", 2), "no timed sample left");
    }

    @Test
    void llama3JavaRatesAreReadFromItsLastLineAmongWarnings() {
        String out = "WARNING: Using incubator modules: jdk.incubator.vector\nParse l1b.gguf: 1382 millis\n"
                + "WARNING: sun.misc.Unsafe::getShort will be removed in a future release\n"
                + "some generated text\ncontext: 78/77 prompt: 2.42 tokens/s (61) generation: 2.14 tokens/s (17)\n";
        PeerComparison.Llama3Run r = PeerComparison.parseLlama3(out, "0.5");
        assertEquals(2.42, r.promptTps());
        assertEquals(61, r.promptTokens());
        assertEquals(2.14, r.tg());
        assertEquals(17, r.generated());
        assertEquals(-0.0, PeerComparison.parseLlama3("context: 8/8 prompt: -0.00 tokens/s (61) generation: 0.00 tokens/s (0)", "?").promptTps());
        assertThrows(IllegalStateException.class, () -> PeerComparison.parseLlama3("Exception in thread main: unsupported vocabulary", "?"));
    }
}
