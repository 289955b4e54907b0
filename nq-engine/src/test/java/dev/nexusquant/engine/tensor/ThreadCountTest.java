package dev.nexusquant.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code -Dnq.threads}: the default, accepted values, and every absurd one refused with a message naming it. */
class ThreadCountTest {

    @Test
    void unsetMeansOnePerCore() {
        assertEquals(2, ThreadCount.parse(null, 2));
        assertEquals(96, ThreadCount.parse(null, 96));
        assertEquals(1, ThreadCount.parse(null, 0));
        assertEquals(512, ThreadCount.parse(null, 512), "the default is never refused, however many cores");
    }

    @Test
    void acceptedValuesAreTakenAsGiven() {
        Random r = new Random(20261204);
        for (int i = 0; i < 200; i++) {
            int cores = 1 + r.nextInt(1024);
            int n = 1 + r.nextInt(ThreadCount.max(cores));
            assertEquals(n, ThreadCount.parse((r.nextBoolean() ? " " : "") + n, cores));
        }
        assertEquals(256, ThreadCount.parse("256", 2));
    }

    @Test
    void absurdValuesAreRefusedNamingThem() {
        // before: 100000 threw IllegalArgumentException from the fork/join pool inside Parallel's static initializer
        // (an ExceptionInInitializerError's stack trace), 20000 would have started 19,999 spinning workers, and
        // 'abc', 0 and -3 were silently replaced
        for (String v : new String[]{"100000", "257", "0", "-3", "abc", "", "1.5", "99999999999"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> ThreadCount.parse(v, 2), v);
            assertTrue(e.getMessage().contains("-Dnq.threads") && e.getMessage().contains("1..256"), e.getMessage());
            assertTrue(e.getMessage().contains(v.strip().isEmpty() ? "''" : v), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ThreadCount.parse("1025", 1024));
        assertEquals(1024, ThreadCount.parse("1024", 1024));
    }

    /** The load's thread count ({@code -Dnq.loadThreads}) is checked the same way, and its messages name it. */
    @Test
    void theLoadsThreadCountIsCheckedUnderItsOwnName() {
        assertEquals(2, ThreadCount.parse("nq.loadThreads", null, 2));
        assertEquals(1, ThreadCount.parse("nq.loadThreads", "1", 2));
        for (String v : new String[]{"100000", "0", "-1", "two"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> ThreadCount.parse("nq.loadThreads", v, 2), v);
            assertTrue(e.getMessage().startsWith("-Dnq.loadThreads must be") && e.getMessage().contains(v), e.getMessage());
        }
    }
}
