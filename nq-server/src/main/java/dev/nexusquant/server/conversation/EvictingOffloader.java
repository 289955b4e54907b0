package dev.nexusquant.server.conversation;

/** Offloading by forgetting: the conversation's next turn prefills its history again. */
public final class EvictingOffloader implements ConversationOffloader {

    @Override
    public void offload(Conversation c) {
        // nothing to save: the pool closes the session and returns its bytes
    }

    @Override
    public String describe() {
        return "evict";
    }
}
