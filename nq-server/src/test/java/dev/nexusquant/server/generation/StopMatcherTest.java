package dev.nexusquant.server.generation;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopMatcherTest {

    /** Emits text pieces, returns what the sink got (joined) and whether it stopped. */
    private static String run(List<String> stops, List<String> pieces, boolean[] stopped) {
        StringBuilder got = new StringBuilder();
        Generator.StopMatcher m = new Generator.StopMatcher(stops, got::append);
        boolean s = false;
        for (String p : pieces) {
            s = m.add(p);
            if (s) break;
        }
        if (!s) m.finish();
        stopped[0] = s;
        assertEquals(m.text(), got.toString(), "the sink gets exactly the text");
        return got.toString();
    }

    @Test
    void stopAcrossPiecesIsCutAndNeverEmitted() {
        boolean[] st = new boolean[1];
        assertEquals("Hello", run(List.of("\nUser:"), List.of("Hel", "lo\nU", "ser: hi"), st));
        assertTrue(st[0]);
        assertEquals("a\nUse b", run(List.of("\nUser:"), List.of("a\nUse", " b"), st));
        assertTrue(!st[0]);
        assertEquals("", run(List.of("x"), List.of("x"), st));
    }

    /** Random texts, stops and piece boundaries, against a direct simulation of stopping as text arrives. */
    @Test
    void randomSplitsAgreeWithIndexOf() {
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        System.out.println("StopMatcherTest seed " + seed);
        SplittableRandom r = new SplittableRandom(seed);
        for (int trial = 0; trial < 2000; trial++) {
            String text = randomText(r, r.nextInt(60));
            List<String> stops = new ArrayList<>();
            for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) stops.add(randomText(r, 1 + r.nextInt(4)));
            List<String> pieces = new ArrayList<>();
            for (int i = 0; i < text.length(); ) {
                int n = Math.min(text.length() - i, r.nextInt(5));
                pieces.add(text.substring(i, i + n));
                i += n;
            }
            // the oracle: generation stops at the first piece after which a stop sequence occurs in the text so far,
            // and the text ends before the earliest occurrence then
            String expected = text;
            boolean expectStop = false;
            StringBuilder sofar = new StringBuilder();
            for (String p : pieces) {
                sofar.append(p);
                int first = -1;
                for (String st : stops) {
                    int at = sofar.indexOf(st);
                    if (at >= 0 && (first < 0 || at < first)) first = at;
                }
                if (first >= 0) {
                    expected = sofar.substring(0, first);
                    expectStop = true;
                    break;
                }
            }
            boolean[] st = new boolean[1];
            String got = run(stops, pieces, st);
            assertEquals(expected, got, "seed " + seed + " pieces " + pieces + " stops " + stops);
            assertEquals(expectStop, st[0]);
            for (String stop : stops) assertTrue(!got.contains(stop), "no stop sequence in the text");
        }
    }

    private static String randomText(SplittableRandom r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append("ab\n:"
                .charAt(r.nextInt(4)));
        return sb.toString();
    }
}
