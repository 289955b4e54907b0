package dev.nexusquant.store;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CheckedValueTest {

    @Test
    void roundTrips() throws KvStoreException {
        SplittableRandom r = new SplittableRandom(1);
        for (int n : new int[]{0, 1, 7, 4096, 100_000}) {
            byte[] p = new byte[n];
            r.nextBytes(p);
            byte[] w = CheckedValue.wrap(p);
            assertEquals(n + CheckedValue.OVERHEAD, w.length);
            assertArrayEquals(p, CheckedValue.unwrap(w, "v"));
        }
    }

    /** Every truncation, extension and single-bit flip of seeded values is reported as CORRUPT. */
    @Test
    void seededDamageIsAlwaysDetected() {
        SplittableRandom r = new SplittableRandom(2026);
        int cases = 0;
        for (int trial = 0; trial < 300; trial++) {
            byte[] p = new byte[r.nextInt(0, 3000)];
            r.nextBytes(p);
            byte[] w = CheckedValue.wrap(p);
            for (int k = 0; k < 10; k++) {
                byte[] bad;
                switch (r.nextInt(3)) {
                    case 0 -> bad = Arrays.copyOf(w, r.nextInt(0, w.length));
                    case 1 -> {
                        bad = Arrays.copyOf(w, w.length + 1 + r.nextInt(8));
                    }
                    default -> {
                        bad = w.clone();
                        int bit = r.nextInt(bad.length * 8);
                        bad[bit >> 3] ^= (byte) (1 << (bit & 7));
                    }
                }
                byte[] b = bad;
                KvStoreException e = assertThrows(KvStoreException.class, () -> CheckedValue.unwrap(b, "entry x"));
                assertEquals(KvStoreException.Kind.CORRUPT, e.kind());
                cases++;
            }
        }
        assertEquals(3000, cases);
    }
}
