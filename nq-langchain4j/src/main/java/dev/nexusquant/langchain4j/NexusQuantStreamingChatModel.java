package dev.nexusquant.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.nexusquant.server.CompletionService;
import dev.nexusquant.server.generation.TurnResult;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A LangChain4j {@link StreamingChatModel} that runs a GGUF model in process with NexusQuant's compressed KV cache.
 * {@code chat} returns at once; the generation runs on one of the model's worker threads, which calls
 * {@code onPartialResponse} for each piece of text (never a piece of a stop sequence), then {@code onCompleteResponse}
 * once — or {@code onError} once. A handler that throws stops the generation.
 */
public final class NexusQuantStreamingChatModel extends NexusQuantModel implements StreamingChatModel {

    private NexusQuantStreamingChatModel(NexusQuantEngine engine) {
        super(engine);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        CompletionService.Prepared p;
        try {
            p = engine.prepare(request);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        AtomicBoolean failed = new AtomicBoolean();
        Future<TurnResult> f;
        try {
            f = engine.submit(p, text -> {
                if (failed.get() || text.isEmpty()) return;
                try {
                    handler.onPartialResponse(text);
                } catch (RuntimeException e) {
                    failed.set(true);
                }
            }, failed::get);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Thread.ofVirtual().name("nq-stream-done").start(() -> {
            try {
                TurnResult r = f.get();
                if (failed.get()) handler.onError(new IllegalStateException("the handler failed; generation stopped"));
                else handler.onCompleteResponse(engine.response(p, r));
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                handler.onError(c instanceof dev.nexusquant.server.api.ApiException ae ? NexusQuantEngine.translate(ae) : c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                handler.onError(e);
            }
        });
    }

    /** Settings of a {@link NexusQuantStreamingChatModel}. */
    public static final class Builder extends NexusQuantBuilder<Builder> {
        public NexusQuantStreamingChatModel build() {
            return new NexusQuantStreamingChatModel(new NexusQuantEngine(s));
        }
    }
}
