package dev.nexusquant.bench;

import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.codec.rope.RopeParams.Convention;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The benchmark's RoPE table against the codec's exact RoPE (seeded; replay with -Dnq.test.seed=S). */
class RopeTableTest {

    @Test
    void tableAgreesWithExactRope() {
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Convention c : Convention.values()) {
            Rope r = new Rope(new RopeParams(c, 1_000_000, 2, 64), 96);
            long first = 999_000;
            RopeTable table = new RopeTable(r, first, 2000);
            for (int t = 0; t < 500; t++) {
                long p = first + rnd.nextInt(2000);
                float[] k = new float[96];
                for (int i = 0; i < k.length; i++) k[i] = (float) rnd.nextGaussian();
                float[] a = k.clone();
                float[] b = k.clone();
                r.forward(a, 0, p);
                table.forward(b, 0, p);
                for (int i = 0; i < 96; i++) {
                    assertEquals(a[i], b[i], 4 * Math.ulp(4f), c + " p=" + p + " i=" + i + " seed=" + seed);
                }
                table.inverse(b, 0, p);
                for (int i = 0; i < 96; i++) {
                    assertEquals(k[i], b[i], 4 * Math.ulp(4f), c + " round trip p=" + p + " seed=" + seed);
                }
            }
            assertThrows(IndexOutOfBoundsException.class, () -> table.forward(new float[96], 0, first - 1));
            assertThrows(IndexOutOfBoundsException.class, () -> table.forward(new float[96], 0, first + 2000));
        }
    }
}
