package dev.nexusquant.server.conversation;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.store.KvStore;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * Offloading through a {@link KvStore} ({@code --kv-store dir:PATH} or {@code redis://HOST:PORT}): an idle
 * conversation's session (its tokens, last logits and whole KV cache, compressed caches as their codes, in the
 * checksummed form of {@link Session#save}) is written to the store under a key of this server's own; its tokens stay
 * in an index in memory, so that the turn that resends its history finds it ({@link #take}) and reads it back
 * ({@link #restore}, bit-exact: the next logits are those of the session that never left). A restored conversation
 * is deleted from the store; offloaded again, it is saved again under a new key.
 *
 * <p>Failures never fail a turn: a save that fails drops the conversation (its next turn prefills), a value that is
 * gone (a directory store's own size cap evicted it) or damaged restores nothing (the turn prefills). Both are
 * counted ({@link #failures()}). The index holds at most {@code maxSaved} conversations and {@link #MAX_INDEX_TOKENS}
 * tokens (their ids are kept in memory); the oldest are deleted beyond either. Thread-safe.
 */
public final class StoreOffloader implements ConversationOffloader {

    /** Token ids the index keeps in memory at most, over all saved conversations (32 MiB of ints). */
    public static final long MAX_INDEX_TOKENS = 8L << 20;

    private final Model model;
    private final KvStore store;
    private final int maxSaved;
    /** Keys of this server: {@code nq-conv-<random>-<n>}, so that servers sharing a store do not meet. */
    private final String prefix = "nq-conv-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + "-";
    private final AtomicLong seq = new AtomicLong();
    /** Saved conversations, oldest first, and by the key of their first tokens. */
    private final LinkedHashMap<String, Saved> index = new LinkedHashMap<>();
    private final Map<Long, List<Saved>> byHead = new HashMap<>();
    private long indexTokens;
    private final AtomicLong hits = new AtomicLong(), saves = new AtomicLong(), failures = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private volatile String lastFailure;

    public StoreOffloader(Model model, KvStore store, int maxSaved) {
        if (maxSaved < 1) throw new IllegalArgumentException("maxSaved must be positive");
        this.model = model;
        this.store = store;
        this.maxSaved = maxSaved;
    }

    @Override
    public void offload(Conversation c) {
        int[] tokens = c.tokens();
        if (tokens.length == 0) return;
        String key = prefix + seq.incrementAndGet();
        try {
            byte[] bytes = c.session().toBytes();
            store.put(key, bytes);
            bytesWritten.addAndGet(bytes.length);
            saves.incrementAndGet();
        } catch (IOException | RuntimeException e) {
            fail("save", e);
            return;
        }
        List<String> old = new ArrayList<>();
        synchronized (this) {
            link(new Saved(key, tokens, c.cache().bytes()));
            var it = index.values().iterator();
            while ((index.size() > maxSaved || indexTokens > MAX_INDEX_TOKENS) && it.hasNext()) {
                Saved o = it.next();
                it.remove();
                unlinkHead(o);
                indexTokens -= o.tokens().length;
                old.add(o.key());
            }
        }
        for (String k : old) delete(k);
    }

    @Override
    public synchronized Saved take(int[] prompt) {
        Saved best = null;
        List<List<Saved>> lists = new ArrayList<>(2);
        if (prompt.length > Conversation.HEAD) {
            List<Saved> l = byHead.get(Conversation.headKey(prompt, Conversation.HEAD));
            if (l != null) lists.add(l);
        }
        List<Saved> shortOnes = byHead.get(Long.MIN_VALUE);
        if (shortOnes != null) lists.add(shortOnes);
        for (List<Saved> l : lists) {
            for (Saved s : l) {
                int n = s.tokens().length;
                if ((best == null || n > best.tokens().length) && n < prompt.length
                        && Arrays.equals(s.tokens(), 0, n, prompt, 0, n)) best = s;
            }
        }
        if (best != null) {
            index.remove(best.key());
            unlinkHead(best);
            indexTokens -= best.tokens().length;
        }
        return best;
    }

    @Override
    public synchronized void putBack(Saved s) {
        link(s);
    }

    private void link(Saved s) {
        index.put(s.key(), s);
        byHead.computeIfAbsent(head(s.tokens()), k -> new ArrayList<>()).add(s);
        indexTokens += s.tokens().length;
    }

    @Override
    public Session restore(Saved s, UnaryOperator<KvCache> wrap) {
        try {
            byte[] bytes = store.get(s.key());
            if (bytes == null) {
                fail("restore", new IOException("the store no longer holds " + s.key()));
                return null;
            }
            Session session = model.restore(new ByteArrayInputStream(bytes), wrap);
            if (!Arrays.equals(session.tokens(), s.tokens())) {
                session.close();
                fail("restore", new IOException(s.key() + " holds other tokens than were saved"));
                return null;
            }
            hits.incrementAndGet();
            return session;
        } catch (IOException | RuntimeException e) {
            fail("restore", e);
            return null;
        } finally {
            delete(s.key());
        }
    }

    private void delete(String key) {
        try {
            store.delete(key);
        } catch (IOException | RuntimeException e) {
            fail("delete", e);
        }
    }

    private void fail(String what, Exception e) {
        failures.incrementAndGet();
        lastFailure = what + ": " + e;
    }

    private static long head(int[] tokens) {
        return tokens.length < Conversation.HEAD ? Long.MIN_VALUE : Conversation.headKey(tokens, Conversation.HEAD);
    }

    private void unlinkHead(Saved s) {
        long h = head(s.tokens());
        List<Saved> l = byHead.get(h);
        if (l != null) {
            l.remove(s);
            if (l.isEmpty()) byHead.remove(h);
        }
    }

    /** Conversations saved and not restored. */
    public synchronized int saved() {
        return index.size();
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** What went wrong last (for logs), or null. */
    public String lastFailure() {
        return lastFailure;
    }

    @Override
    public long hits() {
        return hits.get();
    }

    @Override
    public long saves() {
        return saves.get();
    }

    @Override
    public long failures() {
        return failures.get();
    }

    @Override
    public String describe() {
        return store.describe();
    }

    /** Deletes this server's saved conversations from the store, then closes it. */
    @Override
    public void close() {
        List<String> keys;
        synchronized (this) {
            keys = new ArrayList<>(index.keySet());
            index.clear();
            byHead.clear();
            indexTokens = 0;
        }
        for (String k : keys) delete(k);
        store.close();
    }
}
