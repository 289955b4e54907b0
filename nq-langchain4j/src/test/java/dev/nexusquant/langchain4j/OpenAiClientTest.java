package dev.nexusquant.langchain4j;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.NqServer;
import dev.nexusquant.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./nq serve} through LangChain4j's published OpenAI client (langchain4j-open-ai), on loopback: the answers are
 * those of the in-process model with the same settings (same template, engine, cache and greedy sampling).
 */
class OpenAiClientTest {

    static Model model;
    static NqServer server;
    static NexusQuantChatModel local;

    @BeforeAll
    static void start() throws Exception {
        model = Model.load(Models.stories());
        server = NqServer.start(model, new ServerConfig("127.0.0.1", 0, KvCompression.balanced(), 64L << 20, 8, 2, 8, 32,
                5_000, 1 << 20, 5_000));
        local = NexusQuantChatModel.builder().model(model).kv("balanced").temperature(0).maxTokens(20).build();
    }

    @AfterAll
    static void stop() {
        if (local != null) local.close();
        if (server != null) server.close();
        if (model != null) model.close();
    }

    @Test
    void openAiChatModelGetsTheInProcessAnswer() {
        OpenAiChatModel remote = OpenAiChatModel.builder().baseUrl(server.baseUrl() + "/v1").apiKey("not-needed")
                .modelName(server.service().modelId()).temperature(0.0).maxTokens(20).timeout(Duration.ofSeconds(60)).build();
        ChatRequest req = ChatRequest.builder().messages(SystemMessage.from("You tell stories."),
                UserMessage.from("Tell me about a boat.")).build();
        ChatResponse r = remote.chat(req);
        assertEquals(local.chat(req).aiMessage().text(), r.aiMessage().text());
        assertTrue(r.tokenUsage().outputTokenCount() > 0 && r.tokenUsage().outputTokenCount() <= 20);
        assertFalse(r.aiMessage().text().isEmpty());
    }

    @Test
    void openAiStreamingChatModelStreamsTheSameAnswer() throws Exception {
        OpenAiStreamingChatModel remote = OpenAiStreamingChatModel.builder().baseUrl(server.baseUrl() + "/v1")
                .apiKey("not-needed").modelName(server.service().modelId()).temperature(0.0).maxTokens(20)
                .timeout(Duration.ofSeconds(60)).build();
        List<String> parts = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        remote.chat("Tell me about a boat.", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                parts.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertTrue(parts.size() > 1, "streamed in pieces");
        assertEquals(String.join("", parts), r.aiMessage().text());
        assertEquals(local.chat("Tell me about a boat."), r.aiMessage().text());
    }
}
