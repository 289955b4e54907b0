package dev.nexusquant.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.server.api.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Thousands of seeded hostile requests over raw sockets (wrong types, out-of-range and huge numbers, deep JSON, invalid
 * UTF-8, random bytes, truncated and slow bodies, bad Content-Length, unknown paths and methods), each of which must get
 * a 4xx with an OpenAI-style JSON error; the server stays up (/health after each batch). Replay with -Dnq.test.seed.
 */
class ServerFuzzTest {

    static final int REQUESTS = 2500;
    static Model model;
    static NqServer server;

    @BeforeAll
    static void start() throws Exception {
        model = Model.load(TestServers.sharedModel("stories260K.gguf"));
        server = NqServer.start(model, TestServers.config(model.kvCacheFactory(), 16L << 20).withTimeouts(1_000, 1_000));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    static final String OK_MSGS = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    /** Values each field rejects (type or range), and invalid JSON values that any field rejects. */
    static final String[][] BAD = {
            {"max_tokens", "\"x\"", "true", "{}", "-1", "0", "1.5", "1e400", "99999999999999999999999", "3.0e7"},
            {"temperature", "\"x\"", "true", "-1", "2.5", "1e400", "[]"},
            {"top_p", "0", "-0.5", "1.5", "\"x\"", "{}"},
            {"seed", "1.5", "\"x\"", "99999999999999999999999", "true", "[]"},
            {"stop", "1", "[1]", "[\"\"]", "{}", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "\"\""},
            {"stream", "\"x\"", "1", "[]"},
            {"n", "2", "0", "\"x\"", "1.5"},
            {"stream_options", "1", "\"x\"", "{\"include_usage\":1}"},
            {"frequency_penalty", "3", "-3", "\"x\""},
            {"tools", "[{}]", "1", "\"x\""},
            {"response_format", "1", "{\"type\":\"json_object\"}"},
            {"user", "5", "[\"a\"]", "{}"},
            {"model", "5", "[\"a\"]", "{}", "\"gpt-4\"", "\"\""},
            {"messages", "\"x\"", "[]", "{}", "[1]", "[{\"role\":\"user\"}]", "[{\"role\":\"x\",\"content\":\"a\"}]",
                    "[{\"role\":\"user\",\"content\":7}]"},
            {"*", "NaN", "null,", "\"\\ud800\"", "\"" + "9".repeat(70), "-", "tru", "[1,[2,[3]]"},
    };

    @Test
    void hostileRequestsGet4xxJsonAndTheServerStaysUp() throws Exception {
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        System.out.println("ServerFuzzTest seed " + seed + " (replay with -Dnq.test.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        int slow = 0;
        for (int i = 0; i < REQUESTS; i++) {
            int kind = r.nextInt(12);
            byte[] body;
            String path = r.nextBoolean() ? "/v1/chat/completions" : "/v1/completions";
            String method = "POST";
            Integer contentLength = null;
            int sendOnly = -1;
            long dribbleMs = 0;
            switch (kind) {
                case 0 -> { // a known field with a value of the wrong type or range, or an invalid JSON value
                    String[] row = BAD[r.nextInt(BAD.length)];
                    String f = row[0].equals("*") ? "max_tokens" : row[0];
                    String v = row[1 + r.nextInt(row.length - 1)];
                    if (f.equals("messages")) {
                        path = "/v1/chat/completions";
                        body = ("{\"messages\":" + v + "}").getBytes(StandardCharsets.UTF_8);
                    } else {
                        String base = path.equals("/v1/chat/completions") ? "\"messages\":" + OK_MSGS : "\"prompt\":\"x\"";
                        body = ("{" + base + ",\"" + f + "\":" + v + "}").getBytes(StandardCharsets.UTF_8);
                    }
                }
                case 1 -> { // deep nesting
                    int d = 65 + r.nextInt(5000);
                    body = ("{\"prompt\":" + "[".repeat(d) + "]".repeat(d) + "}").getBytes(StandardCharsets.UTF_8);
                }
                case 2 -> { // huge number in a numeric field
                    body = ("{\"prompt\":\"x\",\"max_tokens\":" + "7".repeat(65 + r.nextInt(2000)) + "}").getBytes(StandardCharsets.UTF_8);
                }
                case 3 -> { // invalid UTF-8 inside a string: a bad pair, stray bytes, an encoded surrogate, an overlong form
                    byte[][] bad = {{(byte) 0xC3, 0x28}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF8},
                            {(byte) 0xC0, (byte) 0xAF}, {(byte) 0x80}, {(byte) 0xE2, (byte) 0x82}};
                    byte[] b = bad[r.nextInt(bad.length)];
                    byte[] head = "{\"prompt\":\"ab".getBytes(StandardCharsets.UTF_8);
                    body = new byte[head.length + b.length + 2];
                    System.arraycopy(head, 0, body, 0, head.length);
                    System.arraycopy(b, 0, body, head.length, b.length);
                    body[body.length - 2] = '"';
                    body[body.length - 1] = '}';
                }
                case 4 -> { // random bytes
                    body = new byte[1 + r.nextInt(300)];
                    for (int k = 0; k < body.length; k++) body[k] = (byte) r.nextInt(256);
                    if (body[0] == '{') body[0] = '(';
                }
                case 5 -> { // malformed JSON: a valid request cut short or with garbage
                    String ok = "{\"messages\":" + OK_MSGS + ",\"max_tokens\":3}";
                    int cut = r.nextInt(ok.length() - 1);
                    body = (r.nextBoolean() ? ok.substring(0, cut) : ok + "}x").getBytes(StandardCharsets.UTF_8);
                }
                case 6 -> { // truncated body: Content-Length promises more than is sent
                    body = ("{\"prompt\":\"x\",\"max_tokens\":2}").getBytes(StandardCharsets.UTF_8);
                    contentLength = body.length + 1 + r.nextInt(100);
                    sendOnly = body.length;
                }
                case 7 -> { // unknown path or wrong method
                    body = "{}".getBytes(StandardCharsets.UTF_8);
                    if (r.nextBoolean()) path = "/v1/" + "x".repeat(1 + r.nextInt(50));
                    else method = r.nextBoolean() ? "PUT" : "DELETE";
                }
                case 8 -> { // absurd max_tokens or a prompt over the context
                    body = (r.nextBoolean()
                            ? "{\"prompt\":\"x\",\"max_tokens\":" + (model.config().contextLength() + r.nextInt(1 << 20)) + "}"
                            : "{\"prompt\":\"" + "the ".repeat(model.config().contextLength() + 5) + "\",\"max_tokens\":1}")
                            .getBytes(StandardCharsets.UTF_8);
                }
                case 9 -> { // a body over the limit, announced or not
                    body = new byte[(1 << 20) + 1 + r.nextInt(1000)];
                    java.util.Arrays.fill(body, (byte) 'a');
                    if (r.nextBoolean()) contentLength = body.length; else contentLength = -1; // -1: chunked
                }
                case 10 -> { // slow body, within the limit (a few only: each takes a moment)
                    if (slow++ >= 20) {
                        body = "{\"prompt\":[]}".getBytes(StandardCharsets.UTF_8);
                    } else {
                        body = "{\"prompt\":\"x\",\"temperature\":-1}".getBytes(StandardCharsets.UTF_8);
                        dribbleMs = 10;
                    }
                }
                default -> { // structurally valid JSON of the wrong shape
                    String[] shapes = {"[]", "\"text\"", "42", "null", "{\"messages\":{}}", "{\"prompt\":{\"a\":1}}",
                            "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "{\"messages\":[{\"content\":\"x\"}]}",
                            "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}"};
                    body = shapes[r.nextInt(shapes.length)].getBytes(StandardCharsets.UTF_8);
                    if (body[0] == '{' && body[2] == 'm') path = "/v1/chat/completions";
                }
            }
            Response resp = send(method, path, body, contentLength, sendOnly, dribbleMs);
            String what = "request " + i + " (kind " + kind + ", seed " + seed + ")";
            assertTrue(resp.status >= 400 && resp.status < 500, what + ": status " + resp.status + " " + resp.body);
            JsonNode err = Json.MAPPER.readTree(resp.body);
            assertTrue(err.at("/error/message").isTextual() && err.at("/error/type").isTextual(), what + ": " + resp.body);
            if (i % 250 == 0) assertEquals(200, TestServers.get(server, "/health").status());
        }
        // a body that never finishes arriving: 408 once the body timeout passes
        Response timeout = send("POST", "/v1/completions", "{\"prompt\":\"x\"}".getBytes(StandardCharsets.UTF_8), null, -1, 200);
        assertEquals(408, timeout.status, timeout.body);
        assertEquals(200, TestServers.get(server, "/health").status());
        assertEquals(0, TestServers.metrics(server).get("nq_sessions_running"));
    }

    record Response(int status, String body) {
    }

    /**
     * Sends one request on a new connection; {@code contentLength} null: the body's length, -1: chunked;
     * {@code sendOnly}: send that many body bytes then stop sending; {@code dribbleMs}: pause after each byte.
     */
    static Response send(String method, String path, byte[] body, Integer contentLength, int sendOnly, long dribbleMs)
            throws IOException, InterruptedException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\n");
            boolean chunked = contentLength != null && contentLength == -1;
            if (chunked) head.append("Transfer-Encoding: chunked\r\n");
            else head.append("Content-Length: ").append(contentLength == null ? body.length : contentLength).append("\r\n");
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            int n = sendOnly >= 0 ? sendOnly : body.length;
            try {
                if (chunked) {
                    for (int off = 0; off < n; off += 8192) {
                        int len = Math.min(8192, n - off);
                        out.write((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(body, off, len);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } else if (dribbleMs > 0) {
                    for (int k = 0; k < n; k++) {
                        out.write(body[k]);
                        out.flush();
                        Thread.sleep(dribbleMs);
                    }
                } else {
                    out.write(body, 0, n);
                }
                out.flush();
                if (sendOnly >= 0) s.shutdownOutput();
            } catch (IOException e) {
                // the server may answer (413) and close before the whole body is sent: read its answer
            }
            return read(s.getInputStream());
        }
    }

    static Response read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        try {
            while ((n = in.read(buf)) >= 0) all.write(buf, 0, n);
        } catch (IOException e) {
            if (all.size() == 0) throw e;
        }
        String text = all.toString(StandardCharsets.UTF_8);
        int sp = text.indexOf(' ');
        int end = text.indexOf("\r\n\r\n");
        if (sp < 0 || end < 0) fail("no HTTP response: '" + text + "'");
        int status = Integer.parseInt(text.substring(sp + 1, sp + 4));
        String bodyText = text.substring(end + 4);
        if (text.substring(0, end).toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
            bodyText = dechunk(bodyText);
        }
        return new Response(status, bodyText);
    }

    private static String dechunk(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int nl = s.indexOf("\r\n", i);
            int len = Integer.parseInt(s.substring(i, nl).trim(), 16);
            if (len == 0) break;
            out.append(s, nl + 2, nl + 2 + len);
            i = nl + 2 + len + 2;
        }
        return out.toString();
    }
}
