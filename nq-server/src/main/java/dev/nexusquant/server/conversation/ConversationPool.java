package dev.nexusquant.server.conversation;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.memory.CacheSizer;
import dev.nexusquant.server.memory.KvMemoryBudget;
import dev.nexusquant.server.memory.MeteredKvCache;
import dev.nexusquant.store.prefix.PrefixStore;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live conversations of the server and the one memory budget they share.
 *
 * <p>{@link #acquire} gives a turn its conversation: the idle one whose tokens are the longest proper prefix of the
 * turn's prompt (so a client that resends the whole history pays only for the new part), else a restored one from the
 * offloader, else a new one. Before the turn runs, the conversation's lease is raised to the {@link CacheSizer} bound
 * of the turn; when the budget cannot give it, idle conversations are offloaded, least recently used first; when none
 * is left, the turn waits (up to the admission wait) for running turns to give memory back, then gets a 503. A turn
 * that could not fit even in an empty budget gets a 503 at once. {@link #release} shrinks the lease to what the cache
 * really holds and keeps the conversation idle for its next turn.
 *
 * <p>Thread-safe: one monitor guards the idle set, the leases and the budget's reservations. The offloader's saves
 * and restores run outside it: a conversation being offloaded is in no set (its bytes stay reserved until it is
 * freed), one being restored has its reservation and slot already counted.
 */
public final class ConversationPool implements AutoCloseable {

    private final Model model;
    private final CacheSizer sizer;
    private final KvMemoryBudget budget;
    private final int maxSessions;
    private final ConversationOffloader offloader;
    private final long admissionWaitNanos;
    private final int contextLength;
    private final PrefixStore prefixes;

    /** Idle conversations in least-recently-used order, and by the key of their first tokens. */
    private final LinkedHashSet<Conversation> idle = new LinkedHashSet<>();
    private final Map<Long, List<Conversation>> byHead = new HashMap<>();
    /** Conversations the offloader is saving (out of the idle set, their bytes still reserved). */
    private final List<Conversation> leaving = new ArrayList<>();
    private int live;
    private int busy;
    private boolean closed;

    public final AtomicLong prefixHits = new AtomicLong();
    public final AtomicLong prefixMisses = new AtomicLong();
    public final AtomicLong reusedTokens = new AtomicLong();
    public final AtomicLong offloads = new AtomicLong();
    public final AtomicLong rejected = new AtomicLong();
    public final AtomicLong created = new AtomicLong();
    public final AtomicLong restored = new AtomicLong();
    public final AtomicLong prefixChunksRestored = new AtomicLong();
    public final AtomicLong prefixTokensRestored = new AtomicLong();
    public final AtomicLong prefixChunksStored = new AtomicLong();

    /**
     * @param maxSessions      conversations held in memory at most (idle and running)
     * @param admissionWaitMs  how long a turn waits for memory held by running turns before a 503
     */
    public ConversationPool(Model model, KvCacheFactory factory, long kvMemory, int maxSessions,
                            ConversationOffloader offloader, long admissionWaitMs) {
        this(model, factory, kvMemory, maxSessions, offloader, admissionWaitMs, null);
    }

    /**
     * @param prefixes where a new conversation's prompt prefix is looked up in chunks (shared system prompts), or null
     */
    public ConversationPool(Model model, KvCacheFactory factory, long kvMemory, int maxSessions,
                            ConversationOffloader offloader, long admissionWaitMs, PrefixStore prefixes) {
        if (maxSessions < 1) throw new IllegalArgumentException("max sessions must be at least 1");
        this.model = model;
        this.sizer = new CacheSizer(factory.forModel(model), model.kvLayout()); // basis=auto: the model's bases, found or fitted now
        this.budget = new KvMemoryBudget(kvMemory);
        this.maxSessions = maxSessions;
        this.offloader = offloader;
        this.admissionWaitNanos = admissionWaitMs * 1_000_000L;
        this.contextLength = model.config().contextLength();
        this.prefixes = prefixes;
    }

    public KvMemoryBudget budget() {
        return budget;
    }

    public CacheSizer sizer() {
        return sizer;
    }

    public ConversationOffloader offloader() {
        return offloader;
    }

    public synchronized int live() {
        return live;
    }

    public synchronized int busy() {
        return busy;
    }

    public synchronized int idle() {
        return idle.size();
    }

    /** The bytes a turn growing a conversation from {@code before} to {@code after} tokens needs at most. */
    public long need(long heldBytes, int before, int after) {
        return sizer.peakBytes(heldBytes, before, after);
    }

    /**
     * A conversation for a turn on {@code prompt} that generates at most {@code maxNew} tokens, with its lease
     * reserved. Its {@link Conversation#size()} tokens are a prefix of the prompt already in its cache.
     *
     * @throws ApiException 503 when the turn cannot get the memory
     */
    public Conversation acquire(int[] prompt, int maxNew) throws InterruptedException {
        int after = (int) Math.min((long) prompt.length + maxNew, contextLength);
        long deadline = System.nanoTime() + admissionWaitNanos;
        Conversation c;
        ConversationOffloader.Saved saved = null;
        long need;
        synchronized (this) {
            while (true) {
                if (closed) throw unavailable("the server is shutting down", 1);
                c = takeLongestPrefix(prompt);
                if (c == null) saved = offloader.take(prompt);
                // its history is being offloaded right now: wait until the offloader has it, to restore it
                if (c != null || saved != null || !leavingPrefixOf(prompt) || System.nanoTime() > deadline) break;
                wait(50);
            }
            if (c != null) {
                prefixHits.incrementAndGet();
                reusedTokens.addAndGet(c.size());
            } else {
                prefixMisses.incrementAndGet();
            }
            need = c != null ? need(c.cache().bytes(), c.size(), after)
                    : saved != null ? need(saved.heldBytes(), saved.tokens().length, after) : need(0, 0, after);
            if (need > budget.limit()) {
                if (c != null) putIdle(c);
                if (saved != null) offloader.putBack(saved);
                rejected.incrementAndGet();
                throw new ApiException(503, "server_error", "kv_memory", null, String.format(java.util.Locale.ROOT,
                        "this request needs up to %d bytes of KV cache (%d tokens), more than the server's whole KV memory budget of %d bytes",
                        need, after, budget.limit()), 0);
            }
        }
        try {
            reserve(c == null, need - (c != null ? c.lease : 0), deadline);
        } catch (ApiException | InterruptedException e) {
            synchronized (this) {
                if (c != null) {
                    if (closed) drop(c); else putIdle(c);
                }
            }
            if (saved != null) offloader.putBack(saved);
            throw e;
        }
        // the reservation is made (and a slot counted in live for a new conversation)
        if (c != null) {
            c.lease = need;
            c.cache().lease(need);
        } else if (saved != null) {
            c = restore(saved, need);
            if (c == null) { // could not be read back: give the reservation back and start afresh
                synchronized (this) {
                    budget.release(need);
                    live--;
                    notifyAll();
                }
                return acquireFresh(prompt, after, deadline);
            }
        } else if (prefixes != null && prompt.length > prefixes.chunkTokens()) {
            c = createThroughPrefixStore(need, prompt);
        } else {
            c = create(need);
        }
        return start(c);
    }

    /** The prefix store in use, or null. */
    public PrefixStore prefixes() {
        return prefixes;
    }

    /**
     * A new conversation, with {@code lease} reserved, that holds the whole {@code prompt}: the prefix store replays
     * the stored chunks of its start into the new cache (bit-exact with a prefill) and the model runs the rest; the
     * chunks that were missing are stored for the next conversation that shares them.
     */
    private Conversation createThroughPrefixStore(long lease, int[] prompt) {
        MeteredKvCache[] last = new MeteredKvCache[1];
        KvCacheFactory metered = new KvCacheFactory() {
            @Override
            public dev.nexusquant.engine.kv.KvCache create(dev.nexusquant.engine.kv.KvLayout layout) {
                return last[0] = new MeteredKvCache(sizer.factory().create(layout), budget, lease);
            }

            @Override
            public String describe() {
                return sizer.factory().describe(); // the chunks' key: the same cache as without the meter
            }
        };
        long t0 = System.nanoTime();
        PrefixStore.Prefilled p;
        try {
            p = prefixes.prefill(metered, prompt);
        } catch (RuntimeException e) {
            if (last[0] != null) last[0].close();
            synchronized (this) {
                budget.release(lease);
                live--;
                notifyAll();
            }
            if (e instanceof dev.nexusquant.server.memory.KvBudgetExceededException) {
                throw new ApiException(503, "server_error", "kv_memory", null, e.getMessage(), 2);
            }
            throw e;
        }
        Conversation c = new Conversation(p.session(), last[0], lease);
        c.append(prompt, 0, prompt.length);
        c.poolPrefilled = p.stats().prefilledTokens();
        c.poolPrefillNanos = System.nanoTime() - t0;
        prefixChunksRestored.addAndGet(p.stats().hits());
        prefixTokensRestored.addAndGet(p.stats().restoredTokens());
        prefixChunksStored.addAndGet(p.stats().stored());
        created.incrementAndGet();
        return c;
    }

    /** A new, empty conversation for a prompt whose saved prefix could not be restored. */
    private Conversation acquireFresh(int[] prompt, int after, long deadline) throws InterruptedException {
        long need = need(0, 0, after);
        reserve(true, need, deadline);
        return start(create(need));
    }

    /** Marks a conversation with its reservation made as running; drops it if the pool closed meanwhile. */
    private Conversation start(Conversation c) {
        synchronized (this) {
            if (closed) {
                drop(c);
                notifyAll();
                throw unavailable("the server is shutting down", 1);
            }
            c.busy = true;
            busy++;
            return c;
        }
    }

    /**
     * Reserves {@code amount} bytes (and a conversation slot when {@code newSlot}): offloads idle conversations, least
     * recently used first, while the budget or the slots are short, then waits for running turns to give memory back
     * until {@code deadline}. The offloader saves each one without the pool's lock held.
     *
     * @throws ApiException 503 when the deadline passes
     */
    private void reserve(boolean newSlot, long amount, long deadline) throws InterruptedException {
        while (true) {
            Conversation victim;
            synchronized (this) {
                if (closed) throw unavailable("the server is shutting down", 1);
                boolean slot = !newSlot || live < maxSessions;
                if (slot && budget.tryReserve(amount)) {
                    if (newSlot) live++;
                    return;
                }
                victim = takeLeastRecentlyUsed();
                if (victim != null) leaving.add(victim);
                if (victim == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        rejected.incrementAndGet();
                        throw unavailable(slot ? "the KV memory budget is held by running requests"
                                : "all " + maxSessions + " conversation slots are busy", 2);
                    }
                    wait(Math.max(1, left / 1_000_000L));
                    continue;
                }
            }
            try {
                offloader.offload(victim);
            } finally {
                synchronized (this) {
                    leaving.remove(victim);
                    drop(victim);
                    offloads.incrementAndGet();
                    notifyAll();
                }
            }
        }
    }

    /** A new conversation over a new cache, with {@code lease} reserved. */
    private Conversation create(long lease) {
        MeteredKvCache cache = null;
        try {
            cache = new MeteredKvCache(sizer.factory().create(model.kvLayout()), budget, lease);
            Conversation c = new Conversation(model.newSession(cache), cache, lease);
            created.incrementAndGet();
            return c;
        } catch (RuntimeException e) {
            if (cache != null) cache.close();
            synchronized (this) {
                budget.release(lease);
                live--;
                notifyAll();
            }
            throw e;
        }
    }

    /**
     * A saved conversation read back with {@code lease} reserved, holding the tokens the restored session says it
     * holds; null when the offloader could not read it (or it came back other than it was saved).
     */
    private Conversation restore(ConversationOffloader.Saved saved, long lease) {
        MeteredKvCache[] metered = new MeteredKvCache[1];
        dev.nexusquant.engine.model.Session session = null;
        try {
            session = offloader.restore(saved, cache -> metered[0] = new MeteredKvCache(cache, budget, lease));
        } catch (RuntimeException e) {
            if (metered[0] != null) metered[0].close();
            return null;
        }
        if (session == null) {
            if (metered[0] != null) metered[0].close();
            return null;
        }
        int[] tokens = session.tokens();
        if (metered[0] == null || !java.util.Arrays.equals(tokens, saved.tokens())) {
            session.close();
            if (metered[0] != null) metered[0].close();
            return null;
        }
        Conversation c = new Conversation(session, metered[0], lease);
        c.append(tokens, 0, tokens.length); // what the cache holds: so that it can be continued, and offloaded again
        restored.incrementAndGet();
        return c;
    }

    /**
     * Ends a turn: the conversation stays for its next turn with a lease of what its cache holds ({@code keep}), or is
     * closed and its bytes returned (a cancelled or failed turn).
     */
    public void release(Conversation c, boolean keep) {
        if (keep) {
            try {
                c.cache().refresh();
            } catch (RuntimeException e) {
                keep = false;
            }
        }
        c.poolPrefilled = 0; // counted in the turn that ends here
        c.poolPrefillNanos = 0;
        synchronized (this) {
            if (!c.busy) throw new IllegalStateException("conversation is not busy");
            c.busy = false;
            busy--;
            if (keep && !closed) {
                long held = c.cache().bytes();
                budget.release(c.lease - held);
                c.lease = held;
                c.cache().lease(held);
                c.lastUsed = System.nanoTime();
                putIdle(c);
            } else {
                drop(c);
            }
            notifyAll();
        }
    }

    private void drop(Conversation c) {
        c.close();
        budget.release(c.lease);
        c.lease = 0;
        live--;
    }

    /** Takes the least recently used idle conversation out of the idle set (to offload it); null when none is idle. */
    private Conversation takeLeastRecentlyUsed() {
        var it = idle.iterator();
        if (!it.hasNext()) return null;
        Conversation victim = it.next();
        removeIdle(victim);
        return victim;
    }

    /** Whether a conversation being offloaded holds a prefix of {@code prompt}. */
    private boolean leavingPrefixOf(int[] prompt) {
        for (Conversation c : leaving) if (c.prefixOf(prompt)) return true;
        return false;
    }

    private Conversation takeLongestPrefix(int[] prompt) {
        Conversation best = null;
        List<List<Conversation>> lists = new ArrayList<>(2);
        if (prompt.length > Conversation.HEAD) {
            List<Conversation> l = byHead.get(Conversation.headKey(prompt, Conversation.HEAD));
            if (l != null) lists.add(l);
        }
        List<Conversation> shortOnes = byHead.get(Long.MIN_VALUE);
        if (shortOnes != null) lists.add(shortOnes);
        for (List<Conversation> l : lists) {
            for (Conversation c : l) {
                if ((best == null || c.size() > best.size()) && c.prefixOf(prompt)) best = c;
            }
        }
        if (best != null) removeIdle(best);
        return best;
    }

    private void putIdle(Conversation c) {
        idle.add(c);
        byHead.computeIfAbsent(c.headKey(), k -> new ArrayList<>()).add(c);
    }

    private void removeIdle(Conversation c) {
        idle.remove(c);
        List<Conversation> l = byHead.get(c.headKey());
        if (l != null) {
            l.remove(c);
            if (l.isEmpty()) byHead.remove(c.headKey());
        }
    }

    private static ApiException unavailable(String why, int retryAfter) {
        return new ApiException(503, "server_error", "overloaded", null, why + "; retry later", retryAfter);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            for (Conversation c : new ArrayList<>(idle)) {
                removeIdle(c);
                drop(c);
            }
            notifyAll();
        }
        offloader.close(); // deletes what it saved: store calls, without the pool's lock
    }
}
