package dev.nexusquant.server.memory;

import dev.nexusquant.engine.kv.ForwardingKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvStats;

/**
 * A KV cache that reports every change of its bytes to the {@link KvMemoryBudget} and stops its session (with
 * {@link KvBudgetExceededException}) if it grows past the lease of its conversation. The lease is set by the pool
 * before each turn; {@code stats()} is read after each append and at the end of each prompt. Everything else goes to the
 * wrapped cache: saving a session saves its state (a restored one is wrapped again), and a prefix store replays into it.
 */
public final class MeteredKvCache extends ForwardingKvCache {

    private final KvMemoryBudget budget;
    private volatile long lease;
    private long bytes;
    private long fp16;
    private boolean closed;

    public MeteredKvCache(KvCache inner, KvMemoryBudget budget, long lease) {
        super(inner);
        this.budget = budget;
        this.lease = lease;
        measure();
    }

    public void lease(long bytes) {
        this.lease = bytes;
    }

    public long lease() {
        return lease;
    }

    /** Bytes held at the last measurement. */
    public long bytes() {
        return bytes;
    }

    /** Reads the cache's bytes again (after a turn: attention may have grown its accumulators). */
    public void refresh() {
        if (!closed) measure();
    }

    private void measure() {
        KvStats s = inner.stats();
        long b = s.bytes(), f = s.fp16Bytes();
        budget.changed(b - bytes, f - fp16);
        bytes = b;
        fp16 = f;
        if (b > lease) {
            budget.overrun();
            throw new KvBudgetExceededException(b, lease);
        }
    }

    @Override
    public void append(int layer, int n, int[] positions, float[] keys, float[] values) {
        inner.append(layer, n, positions, keys, values);
        measure();
    }

    @Override
    public void endOfPrompt() {
        inner.endOfPrompt();
        measure();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        inner.close();
        budget.changed(-bytes, -fp16);
        bytes = 0;
        fp16 = 0;
    }
}
