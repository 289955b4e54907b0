package dev.nexusquant.engine.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.function.IntConsumer;

/**
 * Spreads work over the cores: {@link #run(int, IntConsumer)} runs {@code parts} pieces, one on the calling thread and
 * the others on a pool of daemon threads (one per core), and returns when all are done. Several threads may call it
 * at once (several sessions of one model); the pool is shared.
 */
public final class Parallel {

    private static final int THREADS = Math.max(1, Integer.getInteger("nq.threads", Runtime.getRuntime().availableProcessors()));

    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setDaemon(true);
        t.setName("nq-worker-" + t.getPoolIndex());
        return t;
    }, null, false);

    private Parallel() {
    }

    /** Number of threads work is spread over ({@code -Dnq.threads=N}; default: the number of cores). */
    public static int threads() {
        return THREADS;
    }

    /** Runs {@code body.accept(i)} for {@code i < parts}, in parallel; exceptions propagate to the caller. */
    public static void run(int parts, IntConsumer body) {
        if (parts <= 1) {
            if (parts == 1) body.accept(0);
            return;
        }
        @SuppressWarnings("unchecked")
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[parts - 1];
        for (int i = 1; i < parts; i++) {
            final int part = i;
            tasks[i - 1] = POOL.submit(() -> body.accept(part));
        }
        Throwable failure = null;
        try {
            body.accept(0);
        } catch (Throwable t) {
            failure = t;
        }
        for (ForkJoinTask<?> t : tasks) {
            try {
                t.join();
            } catch (Throwable e) {
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new RuntimeException(failure);
    }

    /**
     * Splits {@code [0, n)} into {@code parts} ranges (at most {@link #threads()}), with boundaries at multiples of
     * {@code align}, and runs them in parallel.
     */
    public static void forRange(int n, int parts, int align, RangeBody body) {
        int units = (n + align - 1) / align;
        int p0 = Math.max(1, Math.min(Math.min(parts, THREADS), units));
        if (p0 == 1) {
            body.run(0, n);
            return;
        }
        run(p0, p -> {
            int from = (int) ((long) units * p / p0) * align;
            int to = Math.min(n, (int) ((long) units * (p + 1) / p0) * align);
            if (from < to) body.run(from, to);
        });
    }

    /** How many parts {@code work} multiply-adds are worth: 1 below {@code minWork}, at most {@link #threads()}. */
    public static int partsFor(long work, long minWork) {
        return (int) Math.max(1, Math.min(THREADS, work / Math.max(1, minWork)));
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }
}
