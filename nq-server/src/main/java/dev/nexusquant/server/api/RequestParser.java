package dev.nexusquant.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a JSON body into a {@link CompletionRequest}, checking the type and range of every field the server reads
 * and the type of the common OpenAI fields it ignores ({@code user}, {@code frequency_penalty}, ...). Unknown fields are
 * ignored, as OpenAI's API does. Every problem is a 400 {@link ApiException} naming the field.
 */
public final class RequestParser {

    /** The most tokens one request may ask for; the context length limits it further. */
    public static final int MAX_TOKENS_LIMIT = 1 << 20;
    public static final int MAX_STOP = 4;
    public static final int MAX_STOP_LENGTH = 256;
    public static final int MAX_MESSAGES = 4096;

    private RequestParser() {
    }

    public static CompletionRequest parse(ObjectNode body, boolean chat) {
        String prompt = null;
        List<ChatMessage> messages = null;
        if (chat) {
            messages = messages(body.get("messages"));
        } else {
            prompt = prompt(body.get("prompt"));
        }
        optionalString(body, "model");
        optionalString(body, "user");
        for (String f : new String[]{"frequency_penalty", "presence_penalty"}) {
            Double v = optionalNumber(body, f);
            if (v != null && (v < -2 || v > 2)) throw ApiException.invalid(f, "'" + f + "' must be in [-2, 2]");
        }
        Integer n = optionalInt(body, "n", 1, 128);
        if (n != null && n != 1) throw ApiException.invalid("n", "only n = 1 is supported");
        Boolean logprobs = optionalBool(body, "logprobs");
        if (Boolean.TRUE.equals(logprobs)) throw ApiException.invalid("logprobs", "logprobs are not supported");
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull()) {
            if (!tools.isArray()) throw ApiException.wrongType("tools", "an array");
            if (!tools.isEmpty()) throw ApiException.invalid("tools", "tools are not supported by this server");
        }
        JsonNode rf = body.get("response_format");
        if (rf != null && !rf.isNull()) {
            if (!rf.isObject()) throw ApiException.wrongType("response_format", "an object");
            JsonNode t = rf.get("type");
            if (t != null && !(t.isTextual() && t.asText().equals("text"))) {
                throw ApiException.invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
            }
        }

        Integer maxTokens = optionalInt(body, "max_tokens", 1, MAX_TOKENS_LIMIT);
        Integer maxCompletion = optionalInt(body, "max_completion_tokens", 1, MAX_TOKENS_LIMIT);
        if (maxTokens == null) maxTokens = maxCompletion;
        Double temperature = optionalNumber(body, "temperature");
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw ApiException.invalid("temperature", "'temperature' must be in [0, 2]");
        }
        Double topP = optionalNumber(body, "top_p");
        if (topP != null && (topP <= 0 || topP > 1)) throw ApiException.invalid("top_p", "'top_p' must be in (0, 1]");
        Long seed = optionalLong(body, "seed");
        List<String> stop = stop(body.get("stop"));
        Boolean stream = optionalBool(body, "stream");
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiException.wrongType("stream_options", "an object");
            Boolean iu = optionalBool((ObjectNode) so, "include_usage");
            includeUsage = Boolean.TRUE.equals(iu);
        }
        return new CompletionRequest(chat, prompt, messages, maxTokens,
                temperature == null ? 1f : temperature.floatValue(), topP == null ? 1f : topP.floatValue(),
                seed, stop, Boolean.TRUE.equals(stream), includeUsage);
    }

    /**
     * A request that names a model must name the one served ({@code GET /v1/models}): another name is a 404
     * {@code model_not_found}, as OpenAI's API answers, rather than an answer from a model the client did not ask
     * for. A request that names none gets the served one.
     */
    public static void checkModel(ObjectNode body, String served) {
        String m = optionalString(body, "model");
        if (m != null && !m.equals(served)) {
            throw new ApiException(404, "invalid_request_error", "model_not_found", "model",
                    "the model '" + clip(m) + "' does not exist here; this server serves '" + served + "' (GET /v1/models)", 0);
        }
    }

    private static String prompt(JsonNode p) {
        if (p == null || p.isNull()) throw ApiException.invalid("prompt", "'prompt' is required");
        if (p.isTextual()) return p.asText();
        if (p.isArray()) {
            if (p.size() == 1 && p.get(0).isTextual()) return p.get(0).asText();
            throw ApiException.invalid("prompt", "'prompt' must be a string (or an array of one string); token arrays and batches are not supported");
        }
        throw ApiException.wrongType("prompt", "a string");
    }

    private static List<ChatMessage> messages(JsonNode m) {
        if (m == null || m.isNull()) throw ApiException.invalid("messages", "'messages' is required");
        if (!m.isArray()) throw ApiException.wrongType("messages", "an array");
        if (m.isEmpty()) throw ApiException.invalid("messages", "'messages' must not be empty");
        if (m.size() > MAX_MESSAGES) throw ApiException.invalid("messages", "more than " + MAX_MESSAGES + " messages");
        List<ChatMessage> out = new ArrayList<>(m.size());
        for (int i = 0; i < m.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode e = m.get(i);
            if (!e.isObject()) throw ApiException.wrongType(at, "an object");
            JsonNode role = e.get("role");
            if (role == null || !role.isTextual()) throw ApiException.wrongType(at + ".role", "a string");
            String r = switch (role.asText()) {
                case "system", "developer" -> "system";
                case "user" -> "user";
                case "assistant" -> "assistant";
                case "tool", "function" -> throw ApiException.invalid(at + ".role", "tool messages are not supported");
                default -> throw ApiException.invalid(at + ".role", "unknown role '" + clip(role.asText()) + "'");
            };
            if (e.has("tool_calls") && !e.get("tool_calls").isNull()
                    && !(e.get("tool_calls").isArray() && e.get("tool_calls").isEmpty())) {
                throw ApiException.invalid(at + ".tool_calls", "tool calls are not supported");
            }
            optionalString((ObjectNode) e, "name");
            out.add(new ChatMessage(r, content(e.get("content"), at + ".content", r)));
        }
        return out;
    }

    /** A message's content: a string, or an array of {@code {"type": "text", "text": ...}} parts (joined). */
    private static String content(JsonNode c, String at, String role) {
        if (c == null || c.isNull()) {
            if (role.equals("assistant")) return "";
            throw ApiException.invalid(at, "'content' is required");
        }
        if (c.isTextual()) return c.asText();
        if (!c.isArray()) throw ApiException.wrongType(at, "a string or an array of text parts");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            JsonNode part = c.get(i);
            String pat = at + "[" + i + "]";
            if (!part.isObject()) throw ApiException.wrongType(pat, "an object");
            JsonNode type = part.get("type");
            if (type == null || !type.isTextual()) throw ApiException.wrongType(pat + ".type", "a string");
            if (!type.asText().equals("text")) {
                throw ApiException.invalid(pat + ".type", "only text parts are supported, not '" + clip(type.asText()) + "'");
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) throw ApiException.wrongType(pat + ".text", "a string");
            sb.append(text.asText());
        }
        return sb.toString();
    }

    private static List<String> stop(JsonNode s) {
        if (s == null || s.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            if (s.size() > MAX_STOP) throw ApiException.invalid("stop", "at most " + MAX_STOP + " stop sequences");
            for (int i = 0; i < s.size(); i++) {
                if (!s.get(i).isTextual()) throw ApiException.wrongType("stop[" + i + "]", "a string");
                out.add(s.get(i).asText());
            }
        } else {
            throw ApiException.wrongType("stop", "a string or an array of strings");
        }
        for (String x : out) {
            if (x.isEmpty()) throw ApiException.invalid("stop", "stop sequences must not be empty");
            if (x.length() > MAX_STOP_LENGTH) throw ApiException.invalid("stop", "stop sequences are at most " + MAX_STOP_LENGTH + " characters");
        }
        return List.copyOf(out);
    }

    private static String optionalString(ObjectNode body, String f) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.wrongType(f, "a string");
        return v.asText();
    }

    private static Boolean optionalBool(ObjectNode body, String f) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isBoolean()) throw ApiException.wrongType(f, "a boolean");
        return v.asBoolean();
    }

    private static Double optionalNumber(ObjectNode body, String f) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw ApiException.wrongType(f, "a number");
        double d = v.asDouble();
        if (!Double.isFinite(d)) throw ApiException.invalid(f, "'" + f + "' must be a finite number");
        return d;
    }

    private static Integer optionalInt(ObjectNode body, String f, int min, int max) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw ApiException.wrongType(f, "an integer");
        if (!v.isIntegralNumber()) {
            double d = v.asDouble();
            if (d != Math.rint(d)) throw ApiException.wrongType(f, "an integer");
        }
        if (!v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw ApiException.invalid(f, "'" + f + "' must be an integer in [" + min + ", " + max + "]");
        }
        return (int) v.asLong();
    }

    private static Long optionalLong(ObjectNode body, String f) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber()) throw ApiException.wrongType(f, "an integer");
        if (!v.canConvertToLong()) throw ApiException.invalid(f, "'" + f + "' must fit in 64 bits");
        return v.asLong();
    }

    private static String clip(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** For tests: parse a JSON text. */
    static CompletionRequest parse(String json, boolean chat) {
        return parse(Json.parseObject(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), chat);
    }

}
