package dev.nexusquant.server.conversation;

/**
 * What the pool does with an idle conversation when the memory budget needs its bytes, and how it gets one back.
 *
 * <p>{@link EvictingOffloader} (the default) drops it: its next turn finds no live prefix and prefills the resent
 * history again (correct, only slower). An offloader backed by a store saves the compressed cache and restores it.
 */
public interface ConversationOffloader extends AutoCloseable {

    /** Takes an idle conversation out of memory; the caller closes its session afterwards. */
    void offload(Conversation c);

    /**
     * The tokens of the longest offloaded conversation whose tokens are a proper prefix of {@code prompt}, restored
     * into {@code target} (a fresh, empty conversation) — or 0 when there is none.
     */
    default int restore(int[] prompt, Conversation target) {
        return 0;
    }

    /** Offloaded conversations restored so far. */
    default long hits() {
        return 0;
    }

    /** A short name for /metrics and logs. */
    String describe();

    @Override
    default void close() {
    }
}
