package dev.nexusquant.engine.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads that, after a piece of work, spin for a bounded time watching for the next one before
 * they park (as llama.cpp's thread pool does): at batch 1 a model runs one small parallel product after another,
 * microseconds apart, and a parked thread takes tens of microseconds to wake, each time. One job at a time: a
 * {@link #tryRun} that finds the workers busy (another session's product, or a product inside a product) returns
 * false and the caller uses the fork/join pool instead.
 *
 * <p>The spin is bounded ({@code -Dnq.spinMicros}, default {@link #DEFAULT_SPIN_MICROS}; 0 turns this pool off): on a
 * machine shared with other work, a worker that finds nothing to do within it parks and takes no more CPU.
 */
final class SpinningWorkers {

    static final int DEFAULT_SPIN_MICROS = 200;

    private static final VarHandle NEXT;

    static {
        try {
            NEXT = MethodHandles.lookup().findVarHandle(Worker.class, "next", Runnable.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Worker[] workers;
    private final long spinNanos;
    private final AtomicBoolean busy = new AtomicBoolean();

    /** {@code count} daemon workers named {@code nq-spin-i} that spin {@code spinMicros} before parking. */
    SpinningWorkers(int count, long spinMicros) {
        if (count < 0 || spinMicros < 0) throw new IllegalArgumentException("count " + count + ", spin " + spinMicros);
        this.spinNanos = spinMicros * 1000;
        this.workers = new Worker[count];
        for (int i = 0; i < count; i++) {
            workers[i] = new Worker();
            Thread t = new Thread(workers[i], "nq-spin-" + i);
            t.setDaemon(true);
            workers[i].thread = t;
            t.start();
        }
    }

    /** Number of worker threads (the caller is not counted). */
    int size() {
        return workers.length;
    }

    /**
     * Hands {@code job} to {@code helpers <= size()} workers, runs it on the calling thread too, then {@code awaitDone}
     * on the calling thread; false, with nothing run, when another job holds the workers. {@code job} must be safe to
     * run on several threads at once (each run claims its own parts) and to run after its work is done (a worker that
     * starts late must find nothing left).
     */
    boolean tryRun(Runnable job, int helpers, Runnable awaitDone) {
        if (workers.length == 0 || !busy.compareAndSet(false, true)) return false;
        try {
            int n = Math.min(helpers, workers.length);
            for (int i = 0; i < n; i++) workers[i].offer(job);
            job.run();
            awaitDone.run();
            return true;
        } finally {
            busy.set(false);
        }
    }

    private final class Worker implements Runnable {
        Thread thread;
        @SuppressWarnings("unused") // through NEXT
        private volatile Runnable next;
        private volatile boolean parked;

        /** Gives this worker {@code job} and wakes it if it parked (it checks {@code next} after saying so). */
        void offer(Runnable job) {
            NEXT.setVolatile(this, job);
            if (parked) LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            for (;;) {
                Runnable job = (Runnable) NEXT.getAndSet(this, null);
                if (job != null) {
                    try {
                        job.run();
                    } catch (Throwable ignored) {
                        // the job records its own failures (Parallel's Job does); a worker never dies of one
                    }
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < spinNanos) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (NEXT.getVolatile(this) == null) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
