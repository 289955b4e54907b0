package dev.nexusquant.server.conversation;

import dev.nexusquant.engine.model.Session;
import dev.nexusquant.server.generation.Generator;
import dev.nexusquant.server.memory.MeteredKvCache;

import java.util.Arrays;

/**
 * A live conversation: a session whose cache holds the tokens {@link #tokens()} (prompt and generated tokens of its
 * turns so far), and the bytes reserved for it in the memory budget ({@link #lease()}). Used by one turn at a time.
 */
public final class Conversation implements Generator.History {

    private static final java.util.concurrent.atomic.AtomicLong IDS = new java.util.concurrent.atomic.AtomicLong();

    final long id = IDS.incrementAndGet();
    private final Session session;
    private final MeteredKvCache cache;
    private int[] tokens = new int[64];
    private int size;
    long lease;
    long lastUsed;
    boolean busy;
    /** Prompt tokens the pool ran through the model before handing the conversation out, and how long it took. */
    int poolPrefilled;
    long poolPrefillNanos;

    Conversation(Session session, MeteredKvCache cache, long lease) {
        this.session = session;
        this.cache = cache;
        this.lease = lease;
    }

    public Session session() {
        return session;
    }

    public MeteredKvCache cache() {
        return cache;
    }

    public long lease() {
        return lease;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void append(int[] t, int from, int n) {
        if (size + n > tokens.length) tokens = Arrays.copyOf(tokens, Math.max(size + n, 2 * tokens.length));
        System.arraycopy(t, from, tokens, size, n);
        size += n;
    }

    /**
     * Prompt tokens the pool ran through the model for this turn before handing the conversation out (a new
     * conversation prefilled through the prefix store, which holds the whole prompt then), and the time it took.
     */
    public int poolPrefilled() {
        return poolPrefilled;
    }

    public long poolPrefillNanos() {
        return poolPrefillNanos;
    }

    /** A copy of the tokens the cache holds. */
    public int[] tokens() {
        return Arrays.copyOf(tokens, size);
    }

    /** Whether the tokens held are a proper prefix of {@code prompt} (at least one prompt token is left to feed). */
    boolean prefixOf(int[] prompt) {
        return size < prompt.length && Arrays.equals(tokens, 0, size, prompt, 0, size);
    }

    /** A key of the first tokens, to find candidate conversations quickly. */
    static long headKey(int[] t, int n) {
        long h = 1125899906842597L;
        for (int i = 0; i < Math.min(n, HEAD); i++) h = 31 * h + t[i];
        return h;
    }

    static final int HEAD = 8;

    long headKey() {
        return size < HEAD ? Long.MIN_VALUE : headKey(tokens, HEAD);
    }

    void close() {
        session.close();
    }
}
