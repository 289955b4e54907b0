package dev.nexusquant.engine.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Spreads work over the cores: {@link #run(int, IntConsumer)} runs {@code parts} pieces on the calling thread and a
 * pool of daemon threads (one per core), and returns when all are done. Several threads may call it
 * at once (several sessions of one model); the pool is shared.
 */
public final class Parallel {

    private static final int THREADS = ThreadCount.fromProperty();

    /**
     * Threads for work that runs before anything else of the engine's and that the user waits for: the packing of the
     * weights at load ({@link #forRangeAtLoad}; {@code -Dnq.loadThreads=N}; default: every core the JVM may use, whatever
     * {@code nq.threads} says, since nothing else of the engine runs then).
     */
    private static final int LOAD_THREADS = ThreadCount.parse("nq.loadThreads", System.getProperty("nq.loadThreads"),
            Runtime.getRuntime().availableProcessors());

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(THREADS, LOAD_THREADS), pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setDaemon(true);
        t.setName("nq-worker-" + t.getPoolIndex());
        return t;
    }, null, false);

    /**
     * Workers that spin between products ({@link SpinningWorkers}; {@code -Dnq.spinMicros=0}: none, every product goes
     * through {@link #POOL}).
     */
    private static final int SPIN_MICROS = Math.max(0, Integer.getInteger("nq.spinMicros", SpinningWorkers.DEFAULT_SPIN_MICROS));
    private static final SpinningWorkers SPINNING = new SpinningWorkers(SPIN_MICROS > 0 ? THREADS - 1 : 0, SPIN_MICROS);

    private Parallel() {
    }

    /** Number of threads work is spread over ({@code -Dnq.threads=N}; default: the number of cores). */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body.accept(i)} for {@code i < parts}, in parallel; exceptions propagate to the caller (the first one;
     * the parts not yet started still run).
     *
     * <p>Parts are claimed from a counter: up to {@code threads() - 1} pool workers are woken, and the calling thread
     * claims parts too, so the parts that no worker has started by the time the caller is free run on the caller. A
     * worker that wakes late (a busy machine, or the microseconds a parked thread takes to wake) therefore never
     * leaves the caller waiting for work it could have done itself; before, each part was bound to a thread and a
     * second thread could make decode slower than one. The workers are {@link SpinningWorkers} that watch for the next
     * product for a while after each one (a parked thread takes tens of microseconds to wake, and decode runs ~100
     * products per token); while they are busy (a product inside a product, or another session's), the fork/join pool.
     */
    public static void run(int parts, IntConsumer body) {
        if (parts <= 1) {
            if (parts == 1) body.accept(0);
            return;
        }
        Job job = new Job(parts, body, Thread.currentThread());
        int helpers = Math.min(parts, THREADS) - 1;
        if (!SPINNING.tryRun(job, helpers, job::awaitDone)) onPool(job, helpers); // the spinning workers are busy
        job.rethrow();
    }

    /** Runs {@code job} on the caller and {@code helpers} workers of the fork/join pool, and waits for all its parts. */
    private static void onPool(Job job, int helpers) {
        for (int i = helpers; i > 0; i--) POOL.execute(job);
        job.run();
        job.awaitDone();
    }

    /** The parts of one {@link #run}: claimed by whoever runs it (pool workers and the caller), until none is left. */
    private static final class Job implements Runnable {
        /** How long the caller spins for the last parts before it parks. */
        private static final long SPIN_NANOS = 20_000;

        private final int parts;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(int parts, IntConsumer body, Thread caller) {
            this.parts = parts;
            this.body = body;
            this.caller = caller;
        }

        @Override
        public void run() {
            for (int p; (p = next.getAndIncrement()) < parts; ) {
                try {
                    body.accept(p);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    if (done.incrementAndGet() == parts) LockSupport.unpark(caller);
                }
            }
        }

        /** Throws the first failure of a part, if any (after {@link #awaitDone}). */
        void rethrow() {
            Throwable f = failure;
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error err) throw err;
            if (f != null) throw new RuntimeException(f);
        }

        /** Returns when every part has finished: spins briefly (parts end within microseconds of each other), then parks. */
        void awaitDone() {
            if (done.get() == parts) return;
            long start = System.nanoTime();
            while (done.get() < parts) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
        }
    }

    /**
     * Splits {@code [0, n)} into ranges with boundaries at multiples of {@code align} and runs them in parallel on up to
     * {@code parts} threads (at most {@link #threads()}). There are a few ranges per thread, so that the caller can
     * take over the ranges of a worker that starts late.
     */
    public static void forRange(int n, int parts, int align, RangeBody body) {
        int units = (n + align - 1) / align;
        int p0 = Math.max(1, Math.min(Math.min(parts, THREADS), units));
        if (p0 == 1) {
            body.run(0, n);
            return;
        }
        int pieces = Math.min(units, p0 * PIECES_PER_THREAD);
        run(pieces, ranges(n, align, pieces, body));
    }

    /** Piece {@code p} of {@code pieces} of {@code [0, n)}, its boundaries at multiples of {@code align}, run by {@code body}. */
    private static IntConsumer ranges(int n, int align, int pieces, RangeBody body) {
        int units = (n + align - 1) / align;
        return p -> {
            int from = (int) ((long) units * p / pieces) * align;
            int to = Math.min(n, (int) ((long) units * (p + 1) / pieces) * align);
            if (from < to) body.run(from, to);
        };
    }

    /** Number of threads {@link #forRangeAtLoad} spreads work over ({@code -Dnq.loadThreads=N}; default: the number of cores). */
    public static int loadThreads() {
        return LOAD_THREADS;
    }

    /**
     * As {@link #forRange}, over {@link #loadThreads()} threads (the caller and workers of the fork/join pool, not the
     * spinning workers, which {@code nq.threads} sizes): for the packing of weights at load, which nothing else of the
     * engine's runs beside, so that a load at {@code -Dnq.threads=1} still uses every core; each thread gets at least
     * {@code minPerThread} of the {@code n} indices (fewer threads where {@code n} is small).
     */
    public static void forRangeAtLoad(int n, int align, int minPerThread, RangeBody body) {
        int units = (n + align - 1) / align;
        int p0 = Math.max(1, Math.min(Math.min(LOAD_THREADS, units), n / Math.max(1, minPerThread)));
        if (p0 == 1) {
            body.run(0, n);
            return;
        }
        int pieces = Math.min(units, p0 * PIECES_PER_THREAD);
        Job job = new Job(pieces, ranges(n, align, pieces, body), Thread.currentThread());
        onPool(job, p0 - 1);
        job.rethrow();
    }

    /** Ranges per thread in {@link #forRange}. */
    static final int PIECES_PER_THREAD = Integer.getInteger("nq.piecesPerThread", 4);

    /** How many parts {@code work} multiply-adds are worth: 1 below {@code minWork}, at most {@link #threads()}. */
    public static int partsFor(long work, long minWork) {
        return (int) Math.max(1, Math.min(THREADS, work / Math.max(1, minWork)));
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }
}
