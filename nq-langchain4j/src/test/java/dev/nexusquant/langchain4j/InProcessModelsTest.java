package dev.nexusquant.langchain4j;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process models through LangChain4j's own interfaces, on stories260K. */
class InProcessModelsTest {

    static Model model;
    static NexusQuantChatModel chat;
    static NexusQuantStreamingChatModel streaming;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(Models.stories());
        chat = NexusQuantChatModel.builder().model(model).kv("balanced").kvMemory("64M").temperature(0).maxTokens(16).build();
        streaming = NexusQuantStreamingChatModel.builder().model(model).kv(KvCompression.balanced()).kvMemory("64M")
                .temperature(0).maxTokens(16).build();
    }

    @AfterAll
    static void close() {
        if (chat != null) chat.close();
        if (streaming != null) streaming.close();
        if (model != null) model.close();
    }

    @Test
    void conversationsPushedOutGoToTheStoreAndComeBack(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        // one conversation slot: each call of the other conversation pushes the first one out, into the store
        try (var one = NexusQuantChatModel.builder().model(model).kv("balanced").kvMemory("64M").temperature(0)
                .maxTokens(8).maxSessions(1).kvStore("dir:" + dir).build();
             var roomy = NexusQuantChatModel.builder().model(model).kv("balanced").kvMemory("64M").temperature(0)
                .maxTokens(8).build()) {
            List<dev.langchain4j.data.message.ChatMessage> a = new ArrayList<>(), ref = new ArrayList<>();
            for (int turn = 0; turn < 3; turn++) {
                a.add(UserMessage.from("Tell me about the sun, part " + turn + "."));
                ref.add(UserMessage.from("Tell me about the sun, part " + turn + "."));
                AiMessage answer = one.chat(ChatRequest.builder().messages(a).build()).aiMessage();
                AiMessage expected = roomy.chat(ChatRequest.builder().messages(ref).build()).aiMessage();
                assertEquals(expected.text(), answer.text(), "turn " + turn);
                a.add(answer);
                ref.add(expected);
                one.chat("Tell me about a fox.");
            }
            assertEquals(2, one.service().pool().offloader().hits(), "restored for turns 2 and 3");
            assertEquals(0, one.service().pool().offloader().failures());
        }
        assertThrows(IllegalArgumentException.class, () -> NexusQuantChatModel.builder().model(model).kvStore("nowhere:x").build());
    }

    /**
     * {@code basis=auto} through the builder, as a spec string (with a prefix store) and as an unresolved
     * {@link KvCompression}: the model's KLT bases are fitted once into the configured basis cache and both answer alike.
     */
    @Test
    void autoKltBasisThroughTheBuilder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String before = System.getProperty("nq.klt.cache");
        System.setProperty("nq.klt.cache", dir.resolve("klt").toString());
        String spec = "max,keys=pre,rot=klt,basis=auto";
        try (var fromSpec = NexusQuantChatModel.builder().model(model).kv(spec).kvMemory("64M").temperature(0)
                .maxTokens(8).kvStore("dir:" + dir.resolve("store")).prefixStore(true).build();
             var fromConfig = NexusQuantChatModel.builder().model(model).kv(dev.nexusquant.kv.KvSpec.parse(spec)).kvMemory("64M")
                .temperature(0).maxTokens(8).build()) {
            try (var files = java.nio.file.Files.list(dir.resolve("klt"))) {
                assertEquals(1, files.filter(p -> p.getFileName().toString().endsWith("-pre.klt")).count());
            }
            String prompt = "Once upon a time there was a little girl named Lily who loved to play in the park. ".repeat(3);
            String a = fromSpec.chat(prompt), b = fromConfig.chat(prompt);
            assertFalse(a.isEmpty());
            assertEquals(a, b);
            assertEquals(a, fromSpec.chat(prompt), "again through the prefix store");
            assertTrue(fromSpec.service().config().kv().describe().contains("basis=auto"));
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    @Test
    void aSharedSystemMessageIsPrefilledOnceThroughThePrefixStore(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String system = "You tell short stories to children. ".repeat(4)
                + "Once upon a time there was a little girl named Lily who loved to play in the park with her dog. ".repeat(6);
        try (var shared = NexusQuantChatModel.builder().model(model).kv("balanced").kvMemory("64M").temperature(0)
                .maxTokens(8).kvStore("dir:" + dir).prefixStore(true).build();
             var plain = NexusQuantChatModel.builder().model(model).kv("balanced").kvMemory("64M").temperature(0)
                .maxTokens(8).build()) {
            for (String topic : List.of("a cat", "a dog")) {
                ChatRequest r = ChatRequest.builder().messages(SystemMessage.from(system), UserMessage.from("Tell me about " + topic + ".")).build();
                assertEquals(plain.chat(r).aiMessage().text(), shared.chat(r).aiMessage().text(), topic);
            }
            assertEquals(1, shared.service().pool().prefixChunksRestored.get(), "the dog's chat replays the system message's chunk");
        }
        assertThrows(IllegalArgumentException.class, () -> NexusQuantChatModel.builder().model(model).prefixStore(true).build());
    }

    @Test
    void chatStringAndChatRequestAgree() {
        String a = chat.chat("Tell me a story about a frog.");
        assertFalse(a.isBlank());
        ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("Tell me a story about a frog.")).build());
        assertEquals(a, r.aiMessage().text());
        assertTrue(r.tokenUsage().outputTokenCount() <= 16);
        assertTrue(r.tokenUsage().inputTokenCount() > 5);
        assertTrue(r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.STOP);
    }

    @Test
    void requestParametersOverrideTheDefaults() {
        ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("Hello"))
                .maxOutputTokens(3).temperature(0.0).build());
        assertEquals(3, r.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());
    }

    @Test
    void aSecondTurnReusesTheFirstTurnsCache() {
        double hitsBefore = chat.service().pool().prefixHits.get();
        List<dev.langchain4j.data.message.ChatMessage> history = new ArrayList<>(List.of(
                SystemMessage.from("You are kind."), UserMessage.from("Where is the ball?")));
        ChatResponse first = chat.chat(history);
        history.add(first.aiMessage());
        history.add(UserMessage.from("And the cat?"));
        ChatResponse second = chat.chat(history);
        assertFalse(second.aiMessage().text().isEmpty() && second.finishReason() == FinishReason.LENGTH);
        assertTrue(chat.service().pool().prefixHits.get() > hitsBefore, "the second turn continued the first turn's cache");
    }

    @Test
    void streamingCallbacksComeInOrderAndAgreeWithTheWholeAnswer() throws Exception {
        String whole = chat.chat("Once upon a time there was a bird.");
        List<String> events = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat("Once upon a time there was a bird.", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                assertFalse(done.isDone(), "no partial after the end");
                events.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                assertFalse(done.isDone(), "one end only");
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertFalse(events.isEmpty());
        assertEquals(String.join("", events), r.aiMessage().text());
        assertEquals(whole, r.aiMessage().text());
    }

    @Test
    void badRequestsFailClearly() throws Exception {
        assertThrows(UnsupportedFeatureException.class, () -> chat.chat(ChatRequest.builder()
                .messages(UserMessage.from("x"))
                .toolSpecifications(ToolSpecification.builder().name("t").description("d").build()).build()));
        assertThrows(InvalidRequestException.class, () -> chat.chat(ChatRequest.builder()
                .messages(UserMessage.from("x")).maxOutputTokens(1 << 20).build()));
        // before: a NaN temperature passed the call's range check (t < 0 || t > 100 is false for NaN)
        assertThrows(InvalidRequestException.class, () -> chat.chat(ChatRequest.builder()
                .messages(UserMessage.from("x")).temperature(Double.NaN).build()));
        // before: the builder took any temperature and topP; a bad one failed only at each call
        for (double t : new double[]{-1, 101, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> NexusQuantChatModel.builder().model(model).temperature(t));
            assertTrue(e.getMessage().startsWith("temperature must be in [0, 100]"), e.getMessage());
        }
        for (double p : new double[]{0, 1.5, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> NexusQuantStreamingChatModel.builder().model(model).topP(p));
            assertTrue(e.getMessage().startsWith("topP must be in (0, 1]"), e.getMessage());
        }
        assertThrows(UnsupportedFeatureException.class, () -> chat.chat(List.of(UserMessage.from("a"),
                AiMessage.from(List.of(dev.langchain4j.agent.tool.ToolExecutionRequest.builder().name("t").arguments("{}").build())))));
        CompletableFuture<Throwable> err = new CompletableFuture<>();
        streaming.chat(ChatRequest.builder().messages(UserMessage.from("x")).maxOutputTokens(1 << 20).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onCompleteResponse(ChatResponse r) {
                        err.complete(null);
                    }

                    @Override
                    public void onError(Throwable e) {
                        err.complete(e);
                    }
                });
        assertTrue(err.get(30, TimeUnit.SECONDS) instanceof InvalidRequestException);
    }
}
