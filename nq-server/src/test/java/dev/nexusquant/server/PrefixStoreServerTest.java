package dev.nexusquant.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.server.api.Json;
import dev.nexusquant.server.conversation.EvictingOffloader;
import dev.nexusquant.store.DirectoryKvStore;
import dev.nexusquant.store.prefix.PrefixStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * New conversations that share a long system prompt prefill it once: the second one replays the stored chunks of the
 * prompt's start from the prefix store (bit-exact with a prefill, so the answers are those of a server without it),
 * and {@code cached_tokens} says how many tokens came from the store. Dense and balanced, on stories260K.
 */
class PrefixStoreServerTest extends OnStories260K {

    @TempDir
    Path dir;



    static final String SYSTEM = "You tell short stories to children. ".repeat(4)
            + "Once upon a time there was a little girl named Lily who loved to play in the park with her dog. ".repeat(6);

    static ConversationReuseTest.Turn ask(NqServer s, String topic) throws Exception {
        ArrayNode m = Json.MAPPER.createArrayNode();
        m.addObject().put("role", "system").put("content", SYSTEM);
        m.addObject().put("role", "user").put("content", "Tell me about " + topic + ".");
        return ConversationReuseTest.chatTurn(s, m, 9, 10);
    }

    @Test
    void aSharedSystemPromptIsPrefilledOnce() throws Exception {
        for (KvCacheFactory kv : List.of(model.kvCacheFactory(), KvCompression.balanced())) {
            ConversationReuseTest.Turn catRef, dogRef;
            try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20))) {
                catRef = ask(s, "a cat");
                dogRef = ask(s, "a dog");
            }
            assertTrue(catRef.prompt() > 256 && catRef.prompt() < model.config().contextLength() - 20, "prompt " + catRef.prompt());
            PrefixStore prefixes = new PrefixStore(model, new DirectoryKvStore(dir.resolve(kv.describe().substring(0, 4)), 1L << 30));
            try (NqServer s = NqServer.start(model, TestServers.config(kv, 64L << 20), new EvictingOffloader(), prefixes)) {
                ConversationReuseTest.Turn cat = ask(s, "a cat");
                Map<String, Double> m1 = TestServers.metrics(s);
                ConversationReuseTest.Turn dog = ask(s, "a dog");
                Map<String, Double> m2 = TestServers.metrics(s);
                String what = kv.describe();
                assertEquals(catRef.answer(), cat.answer(), what);
                assertEquals(dogRef.answer(), dog.answer(), what + ": replayed chunks give the answer of a prefill");
                assertEquals(0, cat.cached(), what);
                assertTrue(m1.get("nq_prefix_store_chunks_stored_total") >= 1, what + " " + m1);
                assertEquals(0, m1.get("nq_prefix_store_chunks_restored_total"));
                assertEquals(256, dog.cached(), what + ": one chunk of 256 tokens came from the store");
                assertEquals(1, m2.get("nq_prefix_store_chunks_restored_total"), what);
                assertEquals(256, m2.get("nq_prefix_store_tokens_restored_total"), what);
                assertEquals(m2.get("nq_prompt_tokens_total") - 256, m2.get("nq_prefilled_tokens_total"), what);
                // the dog's next turn continues its live cache: everything it held is cached, not only the chunk
                ArrayNode m = Json.MAPPER.createArrayNode();
                m.addObject().put("role", "system").put("content", SYSTEM);
                m.addObject().put("role", "user").put("content", "Tell me about a dog.");
                m.addObject().put("role", "assistant").put("content", dog.answer());
                m.addObject().put("role", "user").put("content", "And then?");
                ConversationReuseTest.Turn dog2 = ConversationReuseTest.chatTurn(s, m, 9, 4);
                assertTrue(dog2.cached() >= dog.prompt(), what + ": " + dog + " -> " + dog2);
            }
        }
    }
}
