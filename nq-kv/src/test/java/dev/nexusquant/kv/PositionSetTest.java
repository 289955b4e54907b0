package dev.nexusquant.kv;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PositionSetTest {

    @Test
    void roundTripsDenseSparseAndHuge() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 500; trial++) {
            int n = 1 + rnd.nextInt(300);
            int spread = switch (trial % 3) {
                case 0 -> 2;          // dense: bitmap
                case 1 -> 1000;       // sparse: 16-bit gaps
                default -> 200_000;   // huge gaps: plain ints
            };
            TreeSet<Integer> set = new TreeSet<>();
            int base = rnd.nextInt(1_000_000);
            while (set.size() < n) set.add(base + rnd.nextInt(n * spread));
            int[] pos = set.stream().mapToInt(Integer::intValue).toArray();
            PositionSet ps = new PositionSet(pos, n);
            int[] all = new int[n];
            ps.decode(0, n, all);
            assertArrayEquals(pos, all, "trial " + trial);
            int from = rnd.nextInt(n);
            int cnt = 1 + rnd.nextInt(n - from);
            int[] part = new int[cnt];
            ps.decode(from, cnt, part);
            assertArrayEquals(java.util.Arrays.copyOfRange(pos, from, from + cnt), part, "trial " + trial);
            assertTrue(ps.bytes() <= 4L * n + 12, "never worse than plain ints");
        }
    }

    @Test
    void rejectsUnorderedPositions() {
        assertThrows(IllegalArgumentException.class, () -> new PositionSet(new int[]{3, 3}, 2));
    }
}
