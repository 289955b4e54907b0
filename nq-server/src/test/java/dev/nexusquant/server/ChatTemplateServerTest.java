package dev.nexusquant.server;

import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.gguf.GgufWriter;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model whose GGUF carries {@code tokenizer.chat_template}: stories260K copied with a template added. The server
 * renders it with Jinja and parses the control-token text it writes ({@code <s>}, {@code </s>}) as those tokens.
 */
class ChatTemplateServerTest {

    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] | trim }}{{ eos_token }}"
            + "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

    @Test
    void theGgufsTemplateIsRenderedAndItsControlTokensParsed(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("with-template.gguf");
        try (GgufFile src = GgufFile.open(TestServers.sharedModel("stories260K.gguf"))) {
            GgufWriter w = new GgufWriter().version(src.version());
            for (Map.Entry<String, dev.nexusquant.engine.gguf.GgufValue> e : src.metadata().entrySet()) w.put(e.getKey(), e.getValue());
            w.putString("tokenizer.chat_template", TEMPLATE);
            for (GgufTensorInfo t : src.tensors().values()) w.tensor(t.name(), t.type(), t.dims(), t.data().toArray(ValueLayout.JAVA_BYTE));
            w.write(copy);
        }
        try (Model model = Model.load(copy);
             NqServer server = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 16L << 20))) {
            assertTrue(TestServers.get(server, "/v1/models").body().contains("jinja"));
            var r = TestServers.post(server, "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"  Hello there  \"}],\"max_tokens\":4,\"temperature\":0}");
            assertEquals(200, r.status(), r.body());
            Tokenizer t = model.tokenizer();
            int expected = 1 + t.encode("user: Hello there", false).length + 1 + t.encode("assistant:", false).length;
            assertEquals(expected, r.json().at("/usage/prompt_tokens").asInt(), "<s> and </s> became one token each");
            var bad = TestServers.post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2049}");
            assertEquals(400, bad.status());
        }
    }
}
