package dev.nexusquant.server.memory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One memory budget for the KV caches of all conversations ({@code --kv-memory}).
 *
 * <p>Two sums are kept. {@link #reserved()}: what the server has promised, a lease per live conversation (the bytes it
 * holds while idle; the {@link CacheSizer} bound of its turn while it runs); {@link #tryReserve} refuses to pass the
 * limit. {@link #held()}: what the caches really hold, summed from their {@code stats().bytes()} after every change by
 * {@link MeteredKvCache}; since each cache stays within its lease, {@code held <= reserved <= limit}, and
 * {@link #peakHeld()} records the most it ever was (exported in /metrics, checked by the tests).
 */
public final class KvMemoryBudget {

    private final long limit;
    private long reserved;
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong fp16 = new AtomicLong();
    private final AtomicLong peakHeld = new AtomicLong();
    private final AtomicLong overruns = new AtomicLong();

    public KvMemoryBudget(long limit) {
        if (limit <= 0) throw new IllegalArgumentException("the KV memory budget must be positive");
        this.limit = limit;
    }

    public long limit() {
        return limit;
    }

    public synchronized boolean tryReserve(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative reservation");
        if (reserved + bytes > limit) return false;
        reserved += bytes;
        return true;
    }

    public synchronized void release(long bytes) {
        if (bytes < 0 || bytes > reserved) throw new IllegalStateException("release of " + bytes + " with " + reserved + " reserved");
        reserved -= bytes;
    }

    public synchronized long reserved() {
        return reserved;
    }

    public synchronized long free() {
        return limit - reserved;
    }

    /** A cache's bytes changed by {@code delta} (and its fp16-equivalent bytes by {@code fp16Delta}). */
    void changed(long delta, long fp16Delta) {
        long now = held.addAndGet(delta);
        fp16.addAndGet(fp16Delta);
        peakHeld.accumulateAndGet(now, Math::max);
    }

    void overrun() {
        overruns.incrementAndGet();
    }

    public long held() {
        return held.get();
    }

    /** What an fp16 cache would hold for the tokens the live caches have seen. */
    public long fp16Bytes() {
        return fp16.get();
    }

    public long peakHeld() {
        return peakHeld.get();
    }

    /** Times a cache grew past its lease (stopped at once; 0 unless a bound of {@link CacheSizer} is wrong). */
    public long overruns() {
        return overruns.get();
    }
}
