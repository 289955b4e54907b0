package dev.nexusquant.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PeerComparisonTest {

    @Test
    void warmUpSamplesAreDroppedFromTheFrontInRunOrder() {
        assertArrayEquals(new double[]{12.5, 11.0, 13.25}, PeerComparison.timedSamples(" 3.0, 7.5,12.5, 11.0 ,13.25", 2));
        assertArrayEquals(new double[]{3.0, 7.5}, PeerComparison.timedSamples("3.0, 7.5", 0));
        assertThrows(IllegalStateException.class, () -> PeerComparison.timedSamples("3.0, 7.5", 2), "no timed sample left");
    }
}
