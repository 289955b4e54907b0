package dev.nexusquant.server.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.api.ChatMessage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF's {@code tokenizer.chat_template} (Jinja, as Hugging Face's {@code apply_chat_template} runs it), rendered by
 * Jinjava with the same environment: {@code trim_blocks} and {@code lstrip_blocks} on, the variables {@code messages},
 * {@code add_generation_prompt} (true), {@code bos_token} and {@code eos_token}, and {@code raise_exception(msg)},
 * which becomes a 400 error with the template's message. Output is capped at {@link #MAX_OUTPUT} characters.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    public static final long MAX_OUTPUT = 16L << 20;

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_OUTPUT)
                .withFailOnUnknownTokens(false)
                // what an expression prints is text, as in Jinja2: Jinjava's default renders it again as a template,
                // so a message holding "{{ ... }}" or "{% ... %}" ran as template code (a client could loop, raise,
                // or read the template's variables)
                .withNestedInterpretationEnabled(false)
                // Jinja2's semantics where Jinjava's defaults differ: {{- -}} trims, Python operator precedence,
                // whitespace control parsed as Jinja2 does, iteration over a dict gives its keys
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", String.class));
    }

    /** Called by templates: {@code raise_exception("Conversation roles must alternate")}. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** What {@code raise_exception} throws through Jinjava. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    @Override
    public String render(List<ChatMessage> messages) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("role", m.role());
            e.put("content", m.content());
            msgs.add(e);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", true);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        RenderResult r;
        try {
            r = jinjava.renderForResult(source, vars);
        } catch (TemplateRaised e) {
            throw templateError(e.getMessage());
        } catch (RuntimeException e) {
            Throwable c = e;
            while (c != null) {
                if (c instanceof TemplateRaised tr) throw templateError(tr.getMessage());
                c = c.getCause();
            }
            throw templateError(e.getMessage());
        }
        for (TemplateError err : r.getErrors()) {
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable c = err.getException();
                while (c != null) {
                    if (c instanceof TemplateRaised tr) throw templateError(tr.getMessage());
                    c = c.getCause();
                }
                throw templateError(err.getMessage());
            }
        }
        return r.getOutput();
    }

    private static ApiException templateError(String message) {
        return new ApiException(400, "invalid_request_error", "chat_template", "messages",
                "the model's chat template rejected the messages: " + message, 0);
    }

    @Override
    public boolean parsesSpecialTokens() {
        return true;
    }

    @Override
    public String describe() {
        return "jinja (tokenizer.chat_template, " + source.length() + " characters)";
    }

    public String source() {
        return source;
    }
}
