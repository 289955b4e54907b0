package dev.nexusquant.server.api;

import java.util.List;

/**
 * A validated request of {@code /v1/completions} ({@code prompt}) or {@code /v1/chat/completions} ({@code messages}).
 *
 * @param chat         whether it came as a chat (messages) or a plain completion (prompt)
 * @param prompt       the prompt of a completion, null for a chat
 * @param messages     the messages of a chat, null for a completion
 * @param maxTokens    tokens to generate at most, or null for the server's default
 * @param temperature  sampling temperature (OpenAI's default 1)
 * @param topP         nucleus threshold (default 1)
 * @param seed         sampler seed, or null for a random one
 * @param stop         stop sequences (at most 4)
 * @param stream       answer with server-sent events
 * @param includeUsage stream_options.include_usage: a last chunk with the token counts
 */
public record CompletionRequest(boolean chat, String prompt, List<ChatMessage> messages, Integer maxTokens,
                                float temperature, float topP, Long seed, List<String> stop, boolean stream,
                                boolean includeUsage) {
}
