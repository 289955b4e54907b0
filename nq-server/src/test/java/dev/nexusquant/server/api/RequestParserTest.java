package dev.nexusquant.server.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestParserTest {

    @Test
    void chatWithEveryField() {
        CompletionRequest r = RequestParser.parse("""
                {"model":"m","messages":[{"role":"developer","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
                 "max_tokens":7,"temperature":0.5,"top_p":0.9,"seed":-3,"stop":["x","y"],"stream":true,
                 "stream_options":{"include_usage":true},"user":"u","unknown_field":{"deep":[1,2]}}""", true);
        assertEquals(List.of(ChatMessage.system("s"), ChatMessage.user("ab")), r.messages());
        assertEquals(7, r.maxTokens());
        assertEquals(0.5f, r.temperature());
        assertEquals(0.9f, r.topP());
        assertEquals(-3L, r.seed());
        assertEquals(List.of("x", "y"), r.stop());
        assertTrue(r.stream() && r.includeUsage());
    }

    @Test
    void defaults() {
        CompletionRequest r = RequestParser.parse("{\"prompt\":\"p\"}", false);
        assertEquals("p", r.prompt());
        assertNull(r.maxTokens());
        assertEquals(1f, r.temperature());
        assertEquals(List.of(), r.stop());
    }

    @Test
    void wrongTypesAndRangesName() {
        String[][] cases = {
                {"{\"messages\":\"hi\"}", "messages"},
                {"{\"messages\":[]}", "messages"},
                {"{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content"},
                {"{\"messages\":[{\"role\":1,\"content\":\"x\"}]}", "messages[0].role"},
                {"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"5\"}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1e300}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2.5}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":true}", "temperature"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":7}", "temperature"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0}", "top_p"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1.5}", "seed"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":123456789012345678901234567890}", "seed"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop[0]"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]}", "tools"},
                {"{\"prompt\":7}", "prompt"},
        };
        for (String[] c : cases) {
            boolean chat = c[0].contains("messages");
            ApiException e = assertThrows(ApiException.class, () -> RequestParser.parse(c[0], chat), c[0]);
            assertEquals(400, e.status(), c[0]);
            assertEquals(c[1], e.param(), c[0]);
        }
    }

    @Test
    void hostileJsonIsA400() {
        String deep = "[".repeat(10_000) + "]".repeat(10_000);
        String[] bodies = {"", "  ", "{", "[1]", "{\"a\":1} x", "{\"a\":1,\"a\":2}", "{\"prompt\":" + deep + "}",
                "{\"prompt\":\"x\",\"max_tokens\":" + "9".repeat(5000) + "}", "nul", "{'a':1}", "{\"a\":NaN}"};
        for (String b : bodies) {
            ApiException e = assertThrows(ApiException.class, () -> RequestParser.parse(b, false), b.length() > 40 ? b.substring(0, 40) : b);
            assertEquals(400, e.status());
        }
        ApiException e = assertThrows(ApiException.class,
                () -> Json.parseObject(new byte[]{'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}));
        assertEquals("invalid_utf8", e.code());
    }
}
