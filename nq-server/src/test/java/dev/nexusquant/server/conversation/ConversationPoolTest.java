package dev.nexusquant.server.conversation;

import dev.nexusquant.server.TestServers;
import dev.nexusquant.server.api.ApiException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's admission and offloading on stories260K's dense cache, with an offloader that watches how it is called. */
class ConversationPoolTest extends dev.nexusquant.server.OnStories260K {




    /** Records whether the pool's lock was held during offload, and blocks each offload until released. */
    static final class WatchingOffloader implements ConversationOffloader {
        ConversationPool pool;
        final AtomicReference<String> violation = new AtomicReference<>();
        final AtomicInteger offloaded = new AtomicInteger();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch proceed = new CountDownLatch(1);

        @Override
        public void offload(Conversation c) {
            if (Thread.holdsLock(pool)) violation.set("offload called with the pool's lock held");
            if (c.busy) violation.set("offloading a running conversation");
            entered.countDown();
            try {
                if (!proceed.await(300, TimeUnit.SECONDS)) violation.set("never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            offloaded.incrementAndGet();
        }

        @Override
        public String describe() {
            return "watching";
        }

        @Override
        public void close() {
            if (Thread.holdsLock(pool)) violation.set("close called with the pool's lock held");
        }
    }

    static int[] prompt(int first, int n) {
        int[] p = new int[n];
        p[0] = model.tokenizer().bos();
        for (int i = 1; i < n; i++) p[i] = 10 + (first + i) % 200;
        return p;
    }

    @Test
    void offloadingRunsOutsideThePoolsLockAndOthersAreServedMeanwhile() throws Exception {
        WatchingOffloader off = new WatchingOffloader();
        // room for one conversation of 20 prompt tokens and up to 10 more (what each turn below reserves) and a little more
        long one;
        try (ConversationPool probe = new ConversationPool(model, model.kvCacheFactory(), 64L << 20, 8, new EvictingOffloader(), 1000)) {
            one = probe.need(0, 0, 30);
        }
        try (ConversationPool pool = new ConversationPool(model, model.kvCacheFactory(), one + one / 2, 8, off, 20_000)) {
            off.pool = pool;
            Conversation a = pool.acquire(prompt(0, 20), 10);
            a.session().forward(prompt(0, 20), 0, 20, false);
            a.append(prompt(0, 20), 0, 20);
            pool.release(a, true);
            assertEquals(1, pool.idle());
            ExecutorService ex = Executors.newSingleThreadExecutor();
            ExecutorService ex2 = Executors.newSingleThreadExecutor();
            Future<Conversation> b = ex.submit(() -> pool.acquire(prompt(50, 20), 10)); // needs a's memory: offloads a
            assertTrue(off.entered.await(120, TimeUnit.SECONDS));
            // while a is being saved: the pool answers, a is neither idle nor running, its bytes still reserved. Asked
            // from another thread: were the pool's lock held during the offload, these calls would wait for the offload,
            // which waits for this thread, so the bounded get fails (no wall-clock bound on a loaded machine)
            Future<long[]> during = ex2.submit(() -> new long[]{pool.idle(), pool.busy(), pool.live(), pool.budget().reserved()});
            long[] seen;
            try {
                seen = during.get(120, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("the pool's lock is held during the offload", e);
            }
            assertEquals(0, seen[0]);
            assertEquals(0, seen[1]);
            assertEquals(1, seen[2]);
            assertTrue(seen[3] > 0);
            off.proceed.countDown();
            Conversation c = b.get(120, TimeUnit.SECONDS);
            assertEquals(0, c.size());
            assertEquals(1, off.offloaded.get());
            assertEquals(1, pool.offloads.get());
            assertEquals(1, pool.live());
            pool.release(c, false);
            assertEquals(0, pool.live());
            assertEquals(0, pool.budget().reserved());
            ex.shutdown();
            ex2.shutdown();
            assertNull(off.violation.get());
        }
        assertNull(off.violation.get(), "the offloader is closed without the pool's lock (it deletes what it saved)");
    }

    @Test
    void aTurnThatCannotFitIsRefusedWith503AndTheIdleConversationStays() throws Exception {
        long one;
        try (ConversationPool probe = new ConversationPool(model, model.kvCacheFactory(), 64L << 20, 8, new EvictingOffloader(), 1000)) {
            one = probe.need(0, 0, 30); // one conversation of 20 prompt tokens and up to 10 more
        }
        try (ConversationPool pool = new ConversationPool(model, model.kvCacheFactory(), one, 8, new EvictingOffloader(), 200)) {
            Conversation a = pool.acquire(prompt(0, 20), 10);
            // a second turn while a runs: no idle conversation to offload, the budget is a's: 503 after the wait
            ApiException e = assertThrows(ApiException.class, () -> pool.acquire(prompt(50, 20), 10));
            assertEquals(503, e.status());
            assertEquals(1, pool.rejected.get());
            // larger than the whole budget: 503 at once, naming the bytes
            ApiException big = assertThrows(ApiException.class, () -> pool.acquire(prompt(0, 20), 600));
            assertEquals("kv_memory", big.code());
            pool.release(a, true);
            assertEquals(1, pool.idle());
            assertEquals(pool.budget().reserved(), a.lease());
        }
    }
}
