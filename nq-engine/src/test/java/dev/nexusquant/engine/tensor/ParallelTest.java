package dev.nexusquant.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {

    @Test
    void everyPartRunsExactlyOnce() {
        for (int parts : new int[]{0, 1, 2, 3, 7, 64, 1000}) {
            AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, parts));
            for (int rep = 0; rep < 20; rep++) Parallel.run(parts, p -> seen.incrementAndGet(p));
            for (int p = 0; p < parts; p++) assertEquals(20, seen.get(p), "part " + p + " of " + parts);
        }
    }

    @Test
    void forRangeCoversEveryIndexOnceOnAlignedBoundaries() {
        for (int n : new int[]{1, 4, 5, 17, 100, 1023, 4096}) {
            for (int align : new int[]{1, 4, 16}) {
                for (int parts = 1; parts <= 8; parts++) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(n);
                    int a = align;
                    Parallel.forRange(n, parts, align, (from, to) -> {
                        if (from % a != 0) throw new AssertionError("range starts at " + from + ", not a multiple of " + a);
                        for (int i = from; i < to; i++) seen.incrementAndGet(i);
                    });
                    for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " n=" + n + " align=" + align + " parts=" + parts);
                }
            }
        }
    }

    @Test
    void theFirstFailurePropagatesAndTheOtherPartsStillRun() {
        AtomicIntegerArray seen = new AtomicIntegerArray(16);
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.run(16, p -> {
            seen.incrementAndGet(p);
            if (p == 5) throw boom;
        }));
        assertSame(boom, thrown);
        for (int p = 0; p < 16; p++) assertEquals(1, seen.get(p), "part " + p);
    }

    /** The load's ranges: every index once, on aligned boundaries, for random sizes (seeded), on every core. */
    @Test
    void forRangeAtLoadCoversEveryIndexOnceOnAlignedBoundaries() {
        java.util.Random r = new java.util.Random(20261204);
        for (int rep = 0; rep < 200; rep++) {
            int n = 1 + r.nextInt(rep < 100 ? 64 : 5000), align = 1 << r.nextInt(5), min = 1 + r.nextInt(rep % 2 == 0 ? 4 : 3000);
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Parallel.forRangeAtLoad(n, align, min, (from, to) -> {
                if (from % align != 0) throw new AssertionError("range starts at " + from + ", not a multiple of " + align);
                threads.add(Thread.currentThread().getName());
                for (int i = from; i < to; i++) seen.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " n=" + n + " align=" + align);
            assertTrue(threads.size() <= Math.max(1, Math.min(Parallel.loadThreads(), n / min)),
                    threads + " for " + Parallel.loadThreads() + " load threads, n=" + n + ", at least " + min + " a thread");
        }
    }

    @Test
    void forRangeAtLoadPropagatesTheFirstFailureAfterEveryRangeRan() {
        AtomicIntegerArray seen = new AtomicIntegerArray(1000);
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.forRangeAtLoad(1000, 4, 1, (from, to) -> {
            for (int i = from; i < to; i++) seen.incrementAndGet(i);
            if (from == 0) throw boom;
        }));
        assertSame(boom, thrown);
        for (int i = 0; i < 1000; i++) assertEquals(1, seen.get(i), "index " + i);
    }

    @Test
    void nestedCallsFromInsideAPartComplete() {
        AtomicIntegerArray seen = new AtomicIntegerArray(8 * 8);
        Parallel.run(8, outer -> Parallel.run(8, inner -> seen.incrementAndGet(outer * 8 + inner)));
        for (int i = 0; i < 64; i++) assertEquals(1, seen.get(i), "cell " + i);
    }
}
