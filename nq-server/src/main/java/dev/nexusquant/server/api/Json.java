package dev.nexusquant.server.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The one JSON mapper of the server, with limits against hostile bodies: nesting depth 64, numbers of at most 64
 * digits, strings of at most 4 Mi characters, documents of at most {@link #MAX_DOCUMENT} bytes (the HTTP layer stops
 * reading before that), duplicate keys rejected, trailing tokens rejected. Bodies must be valid UTF-8 (decoded
 * strictly before parsing, so invalid bytes are a 400, not silently replaced).
 */
public final class Json {

    public static final int MAX_DEPTH = 64;
    public static final int MAX_NUMBER_LENGTH = 64;
    public static final int MAX_STRING_LENGTH = 4 << 20;
    public static final long MAX_DOCUMENT = 8L << 20;

    public static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(MAX_NUMBER_LENGTH)
                            .maxStringLength(MAX_STRING_LENGTH)
                            .maxDocumentLength(MAX_DOCUMENT)
                            .maxNameLength(1 << 10)
                            .build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .build();

    private Json() {
    }

    /** Parses a request body into a JSON object, or throws a 400 {@link ApiException} naming what is wrong. */
    public static ObjectNode parseObject(byte[] body) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw new ApiException(400, "invalid_request_error", "invalid_utf8", null,
                    "the request body is not valid UTF-8", 0);
        }
        if (text.isBlank()) {
            throw new ApiException(400, "invalid_request_error", "invalid_json", null, "the request body is empty", 0);
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (StreamConstraintsException e) {
            throw new ApiException(400, "invalid_request_error", "json_limits", null,
                    "the request body exceeds a JSON limit: " + firstLine(e.getOriginalMessage()), 0);
        } catch (IOException e) {
            String m = e instanceof com.fasterxml.jackson.core.JsonProcessingException jp ? jp.getOriginalMessage() : e.getMessage();
            throw new ApiException(400, "invalid_request_error", "invalid_json", null,
                    "the request body is not valid JSON: " + firstLine(m), 0);
        }
        if (!(node instanceof ObjectNode obj)) {
            throw new ApiException(400, "invalid_request_error", "invalid_json", null,
                    "the request body must be a JSON object", 0);
        }
        return obj;
    }

    /** An OpenAI-style error body. */
    public static byte[] error(ApiException e) {
        ObjectNode root = MAPPER.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) err.putNull("param"); else err.put("param", e.param());
        if (e.code() == null) err.putNull("code"); else err.put("code", e.code());
        return bytes(root);
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
