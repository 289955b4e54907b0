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

    /** A short name for logs and /v1/models. */
    String describe();
}
