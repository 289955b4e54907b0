package dev.nexusquant.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.CompletionService;
import dev.nexusquant.server.ServerConfig;
import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.api.ChatMessage;
import dev.nexusquant.server.api.CompletionRequest;
import dev.nexusquant.server.conversation.ConversationOffloader;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.server.conversation.StoreOffloader;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStores;
import dev.nexusquant.store.prefix.PrefixStore;
import dev.nexusquant.server.generation.Generator;
import dev.nexusquant.server.generation.TurnResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Future;

/**
 * What both LangChain4j models share: a loaded model and the server's {@link CompletionService} without HTTP, so an
 * in-process application gets the same chat template, the same reuse of live caches across calls (a conversation
 * that resends its history pays for the new turn only) and the same KV memory budget as {@code ./nq serve}.
 */
final class NexusQuantEngine implements AutoCloseable {

    /** Settings common to both models' builders. */
    static final class Settings {
        Path modelPath;
        Model model;
        String kv = "none";
        KvCacheFactory kvFactory;
        long kvMemory = 256L << 20;
        Double temperature;
        Double topP;
        Integer maxTokens;
        Long seed;
        List<String> stop = List.of();
        int maxSessions = 16;
        int maxConcurrent = 1;
        int maxQueue = 64;
        String kvStore = "evict";
        boolean prefixStore;
    }

    private final Model model;
    private final boolean ownsModel;
    private final CompletionService service;
    private final ChatRequestParameters defaults;
    private final Long seed;

    NexusQuantEngine(Settings s) {
        if (s.model == null && s.modelPath == null) throw new IllegalArgumentException("a model or a modelPath is needed");
        try {
            this.model = s.model != null ? s.model : Model.load(s.modelPath);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + s.modelPath + ": " + e.getMessage(), e);
        }
        this.ownsModel = s.model == null;
        try {
            KvCacheFactory kv = s.kvFactory != null ? s.kvFactory : ServerConfig.kvCache(model, s.kv);
            int maxTokens = s.maxTokens != null ? s.maxTokens : 256;
            ServerConfig cfg = new ServerConfig("127.0.0.1", 0, kv, s.kvMemory, Math.max(s.maxSessions, s.maxConcurrent),
                    s.maxConcurrent, s.maxQueue, maxTokens, 30_000, 1 << 20, 30_000);
            if (s.prefixStore && s.kvStore.equals("evict")) {
                throw new IllegalArgumentException("prefixStore(true) needs a store: kvStore(\"dir:PATH\") or kvStore(\"redis://HOST:PORT\")");
            }
            KvStore store = s.kvStore.equals("evict") ? null : KvStores.open(s.kvStore);
            ConversationOffloader offloader = store == null ? new EvictingOffloader() : new StoreOffloader(model, store, 100_000);
            this.service = new CompletionService(model, cfg, offloader, s.prefixStore ? new PrefixStore(model, store) : null);
        } catch (IOException e) {
            if (ownsModel) model.close();
            throw new UncheckedIOException("cannot open the KV store " + s.kvStore + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (ownsModel) model.close();
            throw e;
        }
        this.defaults = DefaultChatRequestParameters.builder()
                .modelName(model.config().name())
                .temperature(s.temperature != null ? s.temperature : 0.8)
                .topP(s.topP != null ? s.topP : 1.0)
                .maxOutputTokens(s.maxTokens)
                .stopSequences(s.stop)
                .build();
        this.seed = s.seed;
    }

    ChatRequestParameters defaults() {
        return defaults;
    }

    CompletionService service() {
        return service;
    }

    /** The request as the server's own type, after LangChain4j merged it with the defaults. */
    CompletionService.Prepared prepare(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by NexusQuant models");
        }
        if (p.responseFormat() != null && p.responseFormat().type() != dev.langchain4j.model.chat.request.ResponseFormatType.TEXT) {
            throw new UnsupportedFeatureException("only text responses are supported");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (dev.langchain4j.data.message.ChatMessage m : request.messages()) messages.add(convert(m));
        double t = p.temperature() != null ? p.temperature() : defaults.temperature();
        double topP = p.topP() != null ? p.topP() : defaults.topP();
        Integer max = p.maxOutputTokens() != null ? p.maxOutputTokens() : defaults.maxOutputTokens();
        List<String> stop = p.stopSequences() != null && !p.stopSequences().isEmpty() ? p.stopSequences() : defaults.stopSequences();
        if (!(t >= 0 && t <= 100)) throw new InvalidRequestException("temperature must be in [0, 100], is " + t);
        if (!(topP > 0 && topP <= 1)) throw new InvalidRequestException("topP must be in (0, 1], is " + topP);
        if (max != null && max < 1) throw new InvalidRequestException("maxOutputTokens must be positive, is " + max);
        CompletionRequest r = new CompletionRequest(true, null, messages, max, (float) t, (float) topP, seed,
                stop == null ? List.of() : stop, false, false);
        try {
            return service.prepare(r);
        } catch (ApiException e) {
            throw translate(e);
        }
    }

    private static ChatMessage convert(dev.langchain4j.data.message.ChatMessage m) {
        Objects.requireNonNull(m, "message");
        if (m instanceof SystemMessage s) return ChatMessage.system(s.text());
        if (m instanceof UserMessage u) {
            StringBuilder sb = new StringBuilder();
            for (Content c : u.contents()) {
                if (!(c instanceof TextContent tc)) {
                    throw new UnsupportedFeatureException("only text content is supported, not " + c.type());
                }
                sb.append(tc.text());
            }
            return ChatMessage.user(sb.toString());
        }
        if (m instanceof AiMessage a) {
            if (a.hasToolExecutionRequests()) throw new UnsupportedFeatureException("tool calls are not supported");
            return ChatMessage.assistant(a.text() == null ? "" : a.text());
        }
        throw new UnsupportedFeatureException("messages of type " + m.type() + " are not supported");
    }

    /** Runs a turn on the calling thread. */
    TurnResult run(CompletionService.Prepared p, Generator.TextSink sink) {
        try {
            return service.runTurn(p, () -> { }, sink, () -> Thread.currentThread().isInterrupted());
        } catch (ApiException e) {
            throw translate(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LangChain4jException("interrupted", e);
        }
    }

    /** Runs a turn on one of the service's workers. */
    Future<TurnResult> submit(CompletionService.Prepared p, Generator.TextSink sink, java.util.function.BooleanSupplier cancelled) {
        try {
            return service.submit(p, () -> { }, sink, cancelled);
        } catch (ApiException e) {
            throw translate(e);
        }
    }

    ChatResponse response(CompletionService.Prepared p, TurnResult r) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(r.text()))
                .modelName(service.modelId())
                .tokenUsage(new TokenUsage(p.prompt().length, r.completionTokens()))
                .finishReason(r.finish() == TurnResult.Finish.LENGTH ? FinishReason.LENGTH : FinishReason.STOP)
                .build();
    }

    static RuntimeException translate(ApiException e) {
        if (e.status() == 429 || e.status() == 503) return new RateLimitException(e.getMessage());
        if (e.status() >= 400 && e.status() < 500) return new InvalidRequestException(e.getMessage());
        return new LangChain4jException(e.getMessage(), e);
    }

    @Override
    public void close() {
        service.close();
        if (ownsModel) model.close();
    }
}
