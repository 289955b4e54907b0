package dev.nexusquant.server.chat;

import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.tokenizer.Tokenizer;

/**
 * Picks the chat template of a model: its GGUF's {@code tokenizer.chat_template} rendered by a Jinja engine when it has
 * one, else the {@link PlainChatTemplate}.
 *
 * <p>Why Jinjava (com.hubspot.jinjava): chat templates are Jinja2 programs written for Python's engine (loops,
 * {@code namespace}, filters such as {@code trim} and {@code tojson}, {@code raise_exception}); Jinjava is the Java
 * implementation that runs them (it resolves from Maven Central here, is maintained, and Jlama uses it for the same
 * job). Pebble and Mustache are other languages; writing our own Jinja interpreter is out of scope. Its cost is its
 * dependencies (Guava, Jackson, jsoup...), confined to this module.
 */
public final class ChatTemplates {

    public static final String KEY = "tokenizer.chat_template";

    private ChatTemplates() {
    }

    public static ChatTemplate forModel(Model model) {
        GgufFile f = model.gguf();
        try {
            String src = f.has(KEY) ? f.getString(KEY) : null;
            if (src == null || src.isBlank()) return PlainChatTemplate.INSTANCE;
            Tokenizer t = model.tokenizer();
            return new JinjaChatTemplate(src, t.piece(t.bos()), t.piece(t.eos()));
        } catch (GgufException e) {
            throw new IllegalArgumentException(KEY + ": " + e.getMessage(), e);
        }
    }
}
