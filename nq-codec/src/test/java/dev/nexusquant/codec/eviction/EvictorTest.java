package dev.nexusquant.codec.eviction;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EvictorTest {

    @Test
    void keepsSinksRecentAndTopScoredExactly() {
        float[] s = {0, 9, 1, 8, 2, 7, 3, 6, 4, 5};
        // sinks 1, recent 2, budget 5: {0} + {8, 9} + top-2 of positions 1..7 by score: 1 (9), 3 (8)
        assertArrayEquals(new int[]{0, 1, 3, 8, 9}, Evictor.select(s, 10, new KeepRule(1, 2, Budget.tokens(5))));
        // a budget below sinks + recent: sinks first, then the newest
        assertArrayEquals(new int[]{0, 1, 9}, Evictor.select(s, 10, new KeepRule(2, 4, Budget.tokens(3))));
        assertArrayEquals(new int[]{0, 1}, Evictor.select(s, 10, new KeepRule(3, 4, Budget.tokens(2))));
        // ratios
        assertEquals(10, Evictor.select(s, 10, KeepRule.none()).length);
        assertEquals(3, Budget.keepFraction(0.3).keep(10));
        assertEquals(7, Budget.evictFraction(0.3).keep(10));
        assertEquals(4, Budget.keepFraction(0.31).keep(10));
        assertEquals(0, Budget.keepFraction(0).keep(10));
        assertEquals(10, Budget.tokens(100).keep(10));
        // ties go to the later position
        float[] flat = new float[8];
        assertArrayEquals(new int[]{0, 6, 7}, Evictor.select(flat, 8, new KeepRule(1, 0, Budget.tokens(3))));
        // empty input
        assertArrayEquals(new int[0], Evictor.select(new float[0], 0, new KeepRule(4, 4, Budget.tokens(3))));
    }

    @Test
    void selectionEqualsTheDefinitionOnRandomInputs() {
        long seed = TestSeeds.seed("selectionEqualsTheDefinitionOnRandomInputs");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int trial = 0; trial < 2000; trial++) {
            int n = rnd.nextInt(0, 400);
            float[] scores = new float[n];
            for (int i = 0; i < n; i++) {
                scores[i] = trial % 3 == 0 ? rnd.nextInt(5) : (float) (rnd.nextGaussian() * (rnd.nextBoolean() ? 1 : 1e-30));
                if (rnd.nextInt(50) == 0) scores[i] = rnd.nextBoolean() ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
            }
            int sinks = rnd.nextInt(0, 8);
            int recent = rnd.nextInt(0, 64);
            Budget budget = switch (rnd.nextInt(3)) {
                case 0 -> Budget.tokens(rnd.nextInt(0, 500));
                case 1 -> Budget.keepFraction(rnd.nextDouble());
                default -> Budget.evictFraction(rnd.nextDouble());
            };
            KeepRule p = new KeepRule(sinks, recent, budget);
            int[] got = Evictor.select(scores, n, p);
            // reference: the definition, written independently
            int b = budget.keep(n);
            TreeSet<Integer> want = new TreeSet<>();
            for (int t = 0; t < Math.min(sinks, n) && want.size() < b; t++) want.add(t);
            for (int t = n - 1; t >= Math.max(0, n - recent) && want.size() < b; t--) want.add(t);
            List<Integer> middle = new ArrayList<>();
            for (int t = 0; t < n; t++) if (!want.contains(t)) middle.add(t);
            middle.sort((x, y) -> {
                int c = Float.compare(scores[y] + 0f, scores[x] + 0f);
                return c != 0 ? c : Integer.compare(y, x);
            });
            for (int i = 0; want.size() < b; i++) want.add(middle.get(i));
            int[] expect = want.stream().mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expect, got, "seed=" + seed + " trial " + trial + " " + p + " n=" + n);
            assertEquals(b, got.length);
            for (int i = 1; i < got.length; i++) {
                if (got[i] <= got[i - 1]) throw new AssertionError("not ascending, seed=" + seed);
            }
        }
    }

    @Test
    void planPerLayerAndHeadWithDifferentBudgets() {
        long seed = TestSeeds.seed("planPerLayerAndHeadWithDifferentBudgets");
        SplittableRandom rnd = new SplittableRandom(seed);
        int layers = 3, heads = 2, n = 100;
        float[][] scores = new float[layers * heads][n];
        for (float[] row : scores) for (int i = 0; i < n; i++) row[i] = (float) rnd.nextDouble();
        EvictionPlan plan = EvictionPlan.plan(n, layers, heads, (l, h) -> scores[l * heads + h],
                (l, h) -> new KeepRule(4, 8, Budget.tokens(10 + 10 * l + h)));
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                int[] k = plan.kept(l, h);
                assertEquals(10 + 10 * l + h, k.length);
                assertArrayEquals(Evictor.select(scores[l * heads + h], n, new KeepRule(4, 8, Budget.tokens(10 + 10 * l + h))), k);
            }
        }
        assertEquals(10 + 11 + 20 + 21 + 30 + 31, plan.totalKept());
        assertEquals(plan.totalKept() / 600.0, plan.keptFraction(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new EvictionPlan(5, 1, 1, new int[][]{{0, 5}}));
        assertThrows(IllegalArgumentException.class, () -> new EvictionPlan(5, 1, 1, new int[][]{{2, 1}}));
        assertThrows(IllegalArgumentException.class, () -> Evictor.select(new float[]{Float.NaN, 1, 2}, 3, new KeepRule(0, 0, Budget.tokens(1))));
        assertThrows(IllegalArgumentException.class, () -> Budget.keepFraction(1.5));
        assertThrows(IllegalArgumentException.class, () -> Budget.tokens(-1));
        assertEquals("[0, 1]", Arrays.toString(Evictor.select(new float[]{1, 2, 3}, 2, new KeepRule(0, 0, Budget.all()))));
    }
}
