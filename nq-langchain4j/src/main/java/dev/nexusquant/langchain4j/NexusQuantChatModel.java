package dev.nexusquant.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.nexusquant.server.CompletionService;


/**
 * A LangChain4j {@link ChatModel} that runs a GGUF model in process with NexusQuant's compressed KV cache.
 *
 * <pre>{@code
 * try (var model = NexusQuantChatModel.builder().modelPath(Path.of("model.gguf")).kv("balanced")
 *         .kvMemory("256M").temperature(0.7).maxTokens(200).build()) {
 *     String answer = model.chat("Name three colours.");
 * }
 * }</pre>
 *
 * Calls of one conversation that resend its history reuse the cache of the previous call (the prompt's new part only
 * is run); all conversations share the KV memory budget. Thread-safe; {@code maxConcurrent} calls generate at once.
 */
public final class NexusQuantChatModel extends NexusQuantModel implements ChatModel {

    private NexusQuantChatModel(NexusQuantEngine engine) {
        super(engine);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        CompletionService.Prepared p = engine.prepare(request);
        return engine.response(p, engine.run(p, text -> { }));
    }

    /** Settings of a {@link NexusQuantChatModel}. */
    public static final class Builder extends NexusQuantBuilder<Builder> {
        public NexusQuantChatModel build() {
            return new NexusQuantChatModel(new NexusQuantEngine(s));
        }
    }
}
