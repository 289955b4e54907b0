package dev.nexusquant.server.chat;

import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.api.ChatMessage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Templates written here in the dialect of Hugging Face chat templates (block tags on their own lines, trim_blocks and
 * lstrip_blocks, dictionary access, loop variables, namespace, raise_exception, filters), rendered by Jinjava.
 */
class JinjaChatTemplateTest {

    static final List<ChatMessage> CHAT = List.of(ChatMessage.system("Be brief."), ChatMessage.user(" Hi "),
            ChatMessage.assistant("Hello."), ChatMessage.user("Bye"));

    @Test
    void markerTemplateWithBlocksOnTheirOwnLines() {
        String src = """
                {% for message in messages %}
                    {{- '<|start|>' + message['role'] + '\\n' + message['content'] | trim + '<|end|>' + '\\n' }}
                {%- endfor %}
                {% if add_generation_prompt %}
                    {{- '<|start|>assistant\\n' }}
                {%- endif %}
                """;
        String out = new JinjaChatTemplate(src, "<s>", "</s>").render(CHAT);
        assertEquals("<|start|>system\nBe brief.<|end|>\n<|start|>user\nHi<|end|>\n<|start|>assistant\nHello.<|end|>\n"
                + "<|start|>user\nBye<|end|>\n<|start|>assistant\n", out);
    }

    /** As in Jinja2: trim_blocks and lstrip_blocks act on block tags only; a newline after {{ }} stays. */
    @Test
    void systemFoldedIntoFirstUserTurnWithNamespaceAndLoopVariables() {
        String src = """
                {{ bos_token }}
                {% set ns = namespace(system='') %}
                {% for m in messages %}
                {% if m.role == 'system' %}{% set ns.system = m.content + ' ' %}
                {% elif m.role == 'user' %}[INST] {{ ns.system if loop.index0 == 1 else '' }}{{ m.content }} [/INST]
                {% else %}{{ m.content }}{{ eos_token }}
                {% endif %}
                {% endfor %}
                """;
        String out = new JinjaChatTemplate(src, "<s>", "</s>").render(CHAT);
        assertEquals("<s>\n[INST] Be brief.  Hi  [/INST]\nHello.</s>\n[INST] Bye [/INST]\n", out);
    }

    @Test
    void raiseExceptionBecomesA400WithTheTemplatesMessage() {
        String src = """
                {% for m in messages %}
                {% if (m.role == 'user') != (loop.index0 % 2 == 0) %}
                {{ raise_exception('roles must alternate user/assistant') }}
                {% endif %}
                {{ m.content }}
                {% endfor %}
                """;
        JinjaChatTemplate t = new JinjaChatTemplate(src, "<s>", "</s>");
        ApiException e = assertThrows(ApiException.class, () -> t.render(CHAT));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("roles must alternate"), e.getMessage());
        assertEquals("UserAssistant", t.render(List.of(ChatMessage.user("User"), ChatMessage.assistant("Assistant"))).replace("\n", ""));
    }

    @Test
    void messagesAreTextNeverTemplateCode() {
        // before: Jinjava rendered what {{ m.content }} printed as a template again: "{{ 7*7 }}" became 49, and
        // "{% raw %}" a 400 (a client could run loops or read the template's variables through its messages)
        String src = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}";
        String hostile = "{{ 7*7 }} {{ bos_token }} {% raw %} {% for i in range(9) %}x{% endfor %} {# c #}";
        String out = new JinjaChatTemplate(src, "<s>", "</s>").render(List.of(ChatMessage.user(hostile)));
        assertEquals("<|user|>" + hostile + "\n", out);
    }

    @Test
    void plainTemplateIsDocumentedFormat() {
        assertEquals("System: Be brief.\nUser:  Hi \nAssistant: Hello.\nUser: Bye\nAssistant:",
                PlainChatTemplate.INSTANCE.render(CHAT));
    }
}
