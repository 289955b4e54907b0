package dev.nexusquant.codec.klt;

import dev.nexusquant.codec.e8.E8MixedCodec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WaterFillingTest {

    @Test
    void distortionFallsWithRateAndIsConvex() {
        for (int r = 0; r < E8MixedCodec.MAX_RATE; r++) {
            assertTrue(E8MixedCodec.unitDistortion(r + 1) < E8MixedCodec.unitDistortion(r), "rate " + r);
        }
        for (int r = 1; r < E8MixedCodec.MAX_RATE; r++) {
            double before = E8MixedCodec.unitDistortion(r - 1) - E8MixedCodec.unitDistortion(r);
            double after = E8MixedCodec.unitDistortion(r) - E8MixedCodec.unitDistortion(r + 1);
            assertTrue(after < before, "convex at " + r);
        }
    }

    @Test
    void equalVariancesShareTheBudgetEvenly() {
        byte[] r = WaterFilling.rates(new double[]{1, 1, 1, 1}, 8, 0);
        assertArrayEquals(new byte[]{2, 2, 2, 2}, r);
        byte[] h = WaterFilling.rates(new double[]{1, 1, 1, 1}, 6, 0);
        int sum = 0;
        for (byte b : h) {
            sum += b;
            assertTrue(b == 1 || b == 2);
        }
        assertEquals(6, sum);
    }

    @Test
    void largerVarianceNeverGetsFewerBitsAndSmallOnesAreDropped() {
        double[] v = {100, 30, 10, 1, 0.01, 0.0001, 0, 0};
        byte[] r = WaterFilling.rates(v, 9, 0);
        int sum = 0;
        for (int g = 0; g < v.length; g++) {
            sum += r[g];
            if (g > 0) assertTrue(r[g] <= r[g - 1], "monotone at " + g);
        }
        assertTrue(sum <= 9);
        assertEquals(0, r[5]);
        assertEquals(0, r[6]);
        assertEquals(0, r[7]);
        // about log2 of the variance ratio: 100 vs 1 is ~3.3 bits apart
        assertTrue(r[0] - r[3] >= 2, java.util.Arrays.toString(r));
    }

    @Test
    void aCostlyOpeningKeepsFewerGroups() {
        double[] v = {8, 4, 2, 1, 1, 1, 1, 1};
        byte[] free = WaterFilling.rates(v, 12, 0);
        byte[] costly = WaterFilling.rates(v, 12, 1.5);
        assertTrue(WaterFilling.opened(costly) < WaterFilling.opened(free));
        double spent = 0;
        for (byte b : costly) spent += b + (b > 0 ? 1.5 : 0);
        assertTrue(spent <= 12);
    }

    @Test
    void rateIsCappedAndBadInputNamed() {
        assertArrayEquals(new byte[]{4}, WaterFilling.rates(new double[]{1}, 100, 0));
        assertThrows(IllegalArgumentException.class, () -> WaterFilling.rates(new double[]{1}, -1, 0));
    }
}
