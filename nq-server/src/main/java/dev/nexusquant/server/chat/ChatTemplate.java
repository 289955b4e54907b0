package dev.nexusquant.server.chat;

import dev.nexusquant.server.api.ChatMessage;

import java.util.List;

/** Renders the messages of a chat into the prompt text a model continues with the assistant's answer. */
public interface ChatTemplate {

    /** The prompt: every message, then the opening of the assistant's turn. */
    String render(List<ChatMessage> messages);

    /** Whether the rendered text carries special-token text ({@code <|im_start|>}, {@code <s>}) to parse as such. */
    boolean parsesSpecialTokens();

    /** Stop sequences implied by the template (added to the request's own), e.g. the next turn's opening. */
    default List<String> stopSequences() {
        return List.of();
    }

    /**
     * How a client that resends the history spells an answer the model generated as {@code generated} right after
     * {@link #render}'s opening of the assistant's turn, as far as the template decides it (the answer's own text
     * follows). The server records the resent spelling beside the generated one with the same ids, so that the
     * conversation's cache continues. By default the template writes the answer back as it came.
     */
    default String resentAnswer(String generated) {
        return generated;
    }

    /** A short name for logs and /v1/models. */
    String describe();
}
