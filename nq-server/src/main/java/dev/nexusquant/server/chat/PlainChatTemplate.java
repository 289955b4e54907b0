package dev.nexusquant.server.chat;

import dev.nexusquant.server.api.ChatMessage;

import java.util.List;

/**
 * The template of models without {@code tokenizer.chat_template} (the project's own models, which were not trained
 * on chats). Each message is one line, named by its role; the prompt ends with {@code "Assistant:"}:
 *
 * <pre>
 * System: You are terse.
 * User: Name a colour.
 * Assistant: Blue.
 * User: Another one.
 * Assistant:
 * </pre>
 *
 * The assistant's content is written back as it was generated, after a space: an answer the model began without one
 * ({@code "Assistant:,"}) comes back with it, and {@link #resentAnswer} tells the server so. Generation stops at {@code "\nUser:"}, where such
 * a model would start writing the user's next turn itself.
 */
public final class PlainChatTemplate implements ChatTemplate {

    public static final PlainChatTemplate INSTANCE = new PlainChatTemplate();

    @Override
    public String render(List<ChatMessage> messages) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            switch (m.role()) {
                case "system" -> sb.append("System: ").append(m.content()).append('\n');
                case "user" -> sb.append("User: ").append(m.content()).append('\n');
                case "assistant" -> sb.append("Assistant:").append(leadingSpace(m.content())).append('\n');
                default -> throw new IllegalArgumentException("unknown role " + m.role());
            }
        }
        return sb.append("Assistant:").toString();
    }

    /** The assistant's text as generated starts with a space (after "Assistant:"); text without one gets it. */
    private static String leadingSpace(String content) {
        return content.isEmpty() || Character.isWhitespace(content.charAt(0)) ? content : " " + content;
    }

    @Override
    public String resentAnswer(String generated) {
        return leadingSpace(generated);
    }

    @Override
    public boolean parsesSpecialTokens() {
        return false;
    }

    @Override
    public List<String> stopSequences() {
        return List.of("\nUser:");
    }

    @Override
    public String describe() {
        return "plain (System:/User:/Assistant: lines)";
    }
}
