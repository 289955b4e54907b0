package dev.nexusquant.server.conversation;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.model.Session;

import java.util.function.UnaryOperator;

/**
 * What the pool does with an idle conversation when the memory budget needs its bytes, and how it gets one back.
 *
 * <p>{@link EvictingOffloader} (the default) drops it: its next turn finds no live prefix and prefills the resent
 * history again (correct, only slower). {@code StoreOffloader} saves the session (tokens, last logits, the compressed
 * cache) in a store and restores it on the conversation's next turn.
 *
 * <p>The pool calls {@link #offload} and {@link #restore} without holding its lock (a store may take a while), and
 * {@link #take} / {@link #putBack} with it: those touch only the offloader's index in memory.
 */
public interface ConversationOffloader extends AutoCloseable {

    /**
     * A conversation saved by an offloader.
     *
     * @param key        where it is in the offloader's store
     * @param tokens     the tokens its cache held, in order
     * @param heldBytes  the bytes its cache held (what restoring it takes from the budget)
     */
    record Saved(String key, int[] tokens, long heldBytes) {
    }

    /**
     * Saves an idle conversation before the pool frees it (the pool owns it meanwhile: nothing else uses it). A failure
     * is the offloader's to count; the conversation is freed all the same.
     */
    void offload(Conversation c);

    /**
     * Takes out of the index the saved conversation whose tokens are the longest proper prefix of {@code prompt}, or
     * null. Only the caller can then restore it; {@link #putBack} returns it unused.
     */
    default Saved take(int[] prompt) {
        return null;
    }

    /** Returns a saved conversation that {@link #take} gave and the turn did not use (it was refused). */
    default void putBack(Saved s) {
    }

    /**
     * Reads a saved conversation back: a session over its restored cache passed through {@code wrap}, or null when it
     * cannot be had (gone from the store, damaged, the store unreachable): the turn then prefills its history. The
     * saved copy is deleted either way (a restored conversation is saved again, under a new key, when next offloaded).
     */
    default Session restore(Saved s, UnaryOperator<KvCache> wrap) {
        return null;
    }

    /** Offloaded conversations restored so far. */
    default long hits() {
        return 0;
    }

    /** Conversations saved so far. */
    default long saves() {
        return 0;
    }

    /** Saves and restores that failed (the conversation was dropped, or prefilled again). */
    default long failures() {
        return 0;
    }

    /** A short name for /metrics and logs. */
    String describe();

    @Override
    default void close() {
    }
}
