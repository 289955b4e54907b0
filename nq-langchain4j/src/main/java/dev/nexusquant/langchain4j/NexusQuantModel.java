package dev.nexusquant.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.nexusquant.server.CompletionService;

/**
 * What {@link NexusQuantChatModel} and {@link NexusQuantStreamingChatModel} share: the engine behind them, their
 * default request parameters, their provider, monitoring and closing. The subclasses add LangChain4j's
 * {@code doChat} of their kind.
 */
public abstract sealed class NexusQuantModel implements AutoCloseable permits NexusQuantChatModel, NexusQuantStreamingChatModel {

    final NexusQuantEngine engine;

    NexusQuantModel(NexusQuantEngine engine) {
        this.engine = engine;
    }

    /** The builder's temperature, top-p, max tokens and stop sequences, which a request's own parameters override. */
    public ChatRequestParameters defaultRequestParameters() {
        return engine.defaults();
    }

    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** The service behind the model (its pool, metrics and budget), for monitoring. */
    public CompletionService service() {
        return engine.service();
    }

    /** Frees the conversations' caches, and the model when the builder loaded it. */
    @Override
    public void close() {
        engine.close();
    }
}
