package dev.nexusquant.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpinningWorkersTest {

    /**
     * Each job needs the caller and every helper on it at once (a latch the caller waits on): it completes only if
     * the helpers really run it, whether they are still spinning (long spin) or parked and must be woken (no spin,
     * and a pause longer than the spin between jobs).
     */
    @Test
    void helpersTakeEveryJobSpinningOrWokenFromPark() throws Exception {
        for (long spinMicros : new long[]{0, 50, 100_000}) {
            SpinningWorkers w = new SpinningWorkers(3, spinMicros);
            for (int rep = 0; rep < 50; rep++) {
                CountDownLatch all = new CountDownLatch(4);
                AtomicInteger runs = new AtomicInteger();
                AtomicBoolean timedOut = new AtomicBoolean();
                Runnable job = () -> {
                    if (runs.incrementAndGet() > 4) return;
                    all.countDown();
                    try {
                        if (!all.await(10, TimeUnit.SECONDS)) timedOut.set(true);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                };
                assertTrue(w.tryRun(job, 3, () -> { }), "free workers take a job");
                assertFalse(timedOut.get(), "spin " + spinMicros + " rep " + rep + ": a helper never ran the job");
                assertEquals(0, all.getCount());
                if (rep % 10 == 9) Thread.sleep(2); // longer than a short spin: the helpers park, and must wake
            }
        }
    }

    @Test
    void aJobInsideAJobFindsTheWorkersBusy() {
        SpinningWorkers w = new SpinningWorkers(1, 1000);
        AtomicBoolean inner = new AtomicBoolean(true);
        AtomicInteger outerRuns = new AtomicInteger();
        assertTrue(w.tryRun(() -> {
            if (outerRuns.incrementAndGet() == 1) inner.set(w.tryRun(() -> { }, 1, () -> { }));
        }, 1, () -> { }));
        assertFalse(inner.get(), "the workers are held by the outer job");
        assertTrue(w.tryRun(() -> { }, 1, () -> { }), "free again after it");
    }

    @Test
    void noWorkersMeansNothingRuns() {
        AtomicInteger runs = new AtomicInteger();
        assertFalse(new SpinningWorkers(0, 200).tryRun(runs::incrementAndGet, 1, () -> { }));
        assertEquals(0, runs.get());
        assertThrows(IllegalArgumentException.class, () -> new SpinningWorkers(-1, 200));
        assertThrows(IllegalArgumentException.class, () -> new SpinningWorkers(1, -1));
    }

    @Test
    void aFailingJobLeavesTheWorkerAlive() {
        SpinningWorkers w = new SpinningWorkers(1, 0);
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch helper = new CountDownLatch(1);
        Thread caller = Thread.currentThread();
        // the helper's run throws; the caller's run does not (it is the caller's thread)
        w.tryRun(() -> {
            runs.incrementAndGet();
            if (Thread.currentThread() != caller) {
                helper.countDown();
                throw new IllegalStateException("boom in a helper");
            }
        }, 1, () -> {
            try {
                assertTrue(helper.await(10, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        CountDownLatch again = new CountDownLatch(1);
        w.tryRun(() -> {
            if (Thread.currentThread() != caller) again.countDown();
        }, 1, () -> {
            try {
                assertTrue(again.await(10, TimeUnit.SECONDS), "the worker runs the next job");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
    }
}
