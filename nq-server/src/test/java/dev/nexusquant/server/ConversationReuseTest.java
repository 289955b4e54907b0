package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.api.Json;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that resends the whole history pays only for the new turn: the prompt of turn n+1 begins with the very ids
 * of turn n (prompt and generated tokens, as {@code Transcripts} recorded them), so the live cache continues and
 * {@code cached_tokens} is all the conversation held. On stories260K, dense and balanced.
 */
class ConversationReuseTest extends OnStories260K {




    record Turn(String answer, int prompt, int completion, int cached, String finish) {
    }

    static Turn chatTurn(NqServer s, ArrayNode messages, long seed, int maxTokens) throws Exception {
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.set("messages", messages);
        req.put("max_tokens", maxTokens).put("temperature", 0.9).put("seed", seed);
        TestServers.Reply r = TestServers.post(s, "/v1/chat/completions", Json.MAPPER.writeValueAsString(req));
        assertEquals(200, r.status(), r.body());
        JsonNode j = r.json();
        return new Turn(j.at("/choices/0/message/content").asText(), j.at("/usage/prompt_tokens").asInt(),
                j.at("/usage/completion_tokens").asInt(), j.at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                j.at("/choices/0/finish_reason").asText());
    }

    /** Runs a chat of {@code turns} turns; checks that every turn after the first reuses all its predecessor held. */
    static List<Turn> chat(NqServer s, String topic, int turns, Runnable between) throws Exception {
        ArrayNode messages = Json.MAPPER.createArrayNode();
        messages.addObject().put("role", "system").put("content", "You tell short stories.");
        List<Turn> out = new ArrayList<>();
        for (int t = 0; t < turns; t++) {
            messages.addObject().put("role", "user").put("content", "Tell me about " + topic + (t == 0 ? "." : ", again."));
            Turn turn = chatTurn(s, messages, 100 + t, 12);
            out.add(turn);
            messages.addObject().put("role", "assistant").put("content", turn.answer());
            between.run();
        }
        return out;
    }

    @Test
    void everyTurnContinuesTheIdsTheCacheHolds() throws Exception {
        for (var kv : List.of(model.kvCacheFactory(), KvCompression.balanced())) {
            try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20))) {
                int exact = 0;
                for (String topic : List.of("a cat", "the sea", "a red ball", "the moon")) {
                    List<Turn> turns = chat(s, topic, 3, () -> { });
                    assertEquals(0, turns.get(0).cached(), "a new conversation has nothing cached");
                    for (int t = 1; t < turns.size(); t++) {
                        Turn prev = turns.get(t - 1), now = turns.get(t);
                        // the cache holds the previous prompt and the generated tokens it fed (all but the last when
                        // the turn ended at max_tokens; all when it ended at the end-of-text token)
                        int held = prev.prompt() + prev.completion() - (prev.finish().equals("length") ? 1 : 0);
                        assertTrue(now.cached() >= prev.prompt(), kv.describe() + " " + topic + " turn " + t + ": " + now);
                        if (prev.finish().equals("length")) {
                            assertEquals(held, now.cached(), kv.describe() + " " + topic + " turn " + t + ": " + prev + " -> " + now);
                            exact++;
                        }
                        assertTrue(now.cached() < now.prompt());
                    }
                }
                assertTrue(exact >= 4, "enough turns ended at max_tokens to check the exact count: " + exact);
                var m = TestServers.metrics(s);
                assertEquals(8, m.get("nq_transcript_hits_total"));
                assertEquals(m.get("nq_prompt_tokens_total") - m.get("nq_prefix_reused_tokens_total"), m.get("nq_prefilled_tokens_total"));
            }
        }
    }

    /**
     * The plain template writes an assistant message back as {@code "Assistant: " + content}; an answer the model began
     * without a space ({@code "Assistant:, So"}) comes back from the client with one, and its cache still continues
     * (before the template told the server how it spells a resent answer, that turn prefilled everything again). Seeds
     * 1-24 at temperature 1.5, 3 tokens per answer; seed 13 begins with a comma. Answers that begin with punctuation
     * (pieces without the space mark) are counted so that the test keeps testing the case.
     */
    @Test
    void anAnswerBegunWithoutASpaceStillContinuesItsCache() throws Exception {
        try (NqServer s = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20).withSessions(32, 2, 16))) {
            int withoutSpace = 0;
            for (long seed = 1; seed <= 24; seed++) {
                ArrayNode messages = Json.MAPPER.createArrayNode();
                messages.addObject().put("role", "user").put("content", "Tell me a story.");
                ObjectNode req = Json.MAPPER.createObjectNode();
                req.set("messages", messages);
                req.put("max_tokens", 3).put("temperature", 1.5).put("seed", seed);
                JsonNode r1 = TestServers.post(s, "/v1/chat/completions", Json.MAPPER.writeValueAsString(req)).json();
                String answer = r1.at("/choices/0/message/content").asText();
                if (!answer.isEmpty() && !Character.isLetterOrDigit(answer.charAt(0))) withoutSpace++;
                int held = r1.at("/usage/prompt_tokens").asInt() + r1.at("/usage/completion_tokens").asInt()
                        - (r1.at("/choices/0/finish_reason").asText().equals("length") ? 1 : 0);
                messages.addObject().put("role", "assistant").put("content", answer);
                messages.addObject().put("role", "user").put("content", "More.");
                req.put("max_tokens", 1);
                JsonNode r2 = TestServers.post(s, "/v1/chat/completions", Json.MAPPER.writeValueAsString(req)).json();
                assertEquals(held, r2.at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                        "seed " + seed + ", answer [" + answer + "]: " + r2);
            }
            assertTrue(withoutSpace >= 1, "some answers began without a space");
        }
    }

    @Test
    void aCompletionResentWithItsTextContinuesTheCache() throws Exception {
        try (NqServer s = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20))) {
            String prompt = "Once upon a time, there was a";
            String body = "{\"prompt\":%s,\"max_tokens\":10,\"temperature\":0.9,\"seed\":5}";
            JsonNode r1 = TestServers.post(s, "/v1/completions", body.formatted(Json.MAPPER.writeValueAsString(prompt))).json();
            String text = r1.at("/choices/0/text").asText();
            assertTrue(text.startsWith(" "), "a completion keeps the space that separates it from the prompt: [" + text + "]");
            assertEquals("length", r1.at("/choices/0/finish_reason").asText());
            int p1 = r1.at("/usage/prompt_tokens").asInt(), k1 = r1.at("/usage/completion_tokens").asInt();
            JsonNode r2 = TestServers.post(s, "/v1/completions",
                    body.formatted(Json.MAPPER.writeValueAsString(prompt + text + " Then"))).json();
            assertEquals(p1 + k1 - 1, r2.at("/usage/prompt_tokens_details/cached_tokens").asInt(), r2.toString());
        }
    }

    @Test
    void answersAreTheSameWhetherTheCacheWasKeptOrDropped() throws Exception {
        List<Turn> kept;
        try (NqServer s = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 64L << 20))) {
            kept = chat(s, "a big tree", 3, () -> { });
        }
        // two conversation slots: two other chats between the turns push this one out each time
        ServerConfig two = TestServers.config(model.kvCacheFactory(), 64L << 20).withSessions(2, 2, 16);
        try (NqServer s = NqServer.start(model, two)) {
            List<Turn> dropped = chat(s, "a big tree", 3, () -> {
                try {
                    for (String other : List.of("a fox", "a ship")) {
                        ArrayNode m = Json.MAPPER.createArrayNode();
                        m.addObject().put("role", "user").put("content", "Tell me about " + other + ".");
                        chatTurn(s, m, 1, 4);
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertTrue(TestServers.metrics(s).get("nq_sessions_offloaded_total") >= 4);
            for (int t = 0; t < kept.size(); t++) {
                assertEquals(kept.get(t).answer(), dropped.get(t).answer(), "turn " + t);
                assertEquals(kept.get(t).prompt(), dropped.get(t).prompt(), "the same ids, cache or no cache");
                if (t > 0) assertEquals(0, dropped.get(t).cached(), "the cache was dropped: " + dropped.get(t));
            }
        }
    }
}
