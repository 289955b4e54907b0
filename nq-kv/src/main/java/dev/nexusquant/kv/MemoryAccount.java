package dev.nexusquant.kv;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes a compressed cache holds, counted as its arrays are allocated, and its memory budget. The attention-mass
 * accumulators grow during attention, which may run for several heads at once, so they have their own atomic count.
 */
final class MemoryAccount {

    private final long budget; // 0 = none
    private long bytes;        // every array but the attention-mass accumulators
    private final AtomicLong accumulators = new AtomicLong();
    private long tokensSeen;

    MemoryAccount(long budget) {
        this.budget = budget;
    }

    long budget() {
        return budget;
    }

    long held() {
        return bytes + accumulators.get();
    }

    void add(long delta) {
        bytes += delta;
    }

    void addAccumulators(long delta) {
        accumulators.addAndGet(delta);
    }

    void tokensSeen(long seen) {
        this.tokensSeen = seen;
    }

    /** Throws {@link KvMemoryExceededException} when holding {@code add} more bytes would exceed the budget. */
    void check(long add) {
        if (budget > 0 && held() + add > budget) throw new KvMemoryExceededException(budget, held() + add, tokensSeen);
    }

    void clear() {
        bytes = 0;
        accumulators.set(0);
    }
}
