package dev.nexusquant.server.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import dev.nexusquant.server.api.ApiException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The same {@link OpenAiApi} on Helidon SE 4.5 (its own HTTP/1.1 server on virtual threads), only for
 * {@link HttpLayerBench}, which measured it beside {@link JdkHttpTransport}.
 */
final class HelidonHttpTransport implements AutoCloseable {

    private final WebServer server;

    HelidonHttpTransport(String host, int port, OpenAiApi api, int maxBody) {
        server = WebServer.builder()
                .host(host)
                .port(port)
                .maxPayloadSize(maxBody)
                .routing(r -> r.any((req, res) -> {
                    Call c = new Call(req, res, maxBody);
                    api.handle(c);
                    c.finish();
                }))
                .build()
                .start();
    }

    int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
    }

    static final class Call implements HttpCall {
        private final ServerRequest req;
        private final ServerResponse res;
        private final int maxBody;
        private OutputStream events;

        Call(ServerRequest req, ServerResponse res, int maxBody) {
            this.req = req;
            this.res = res;
            this.maxBody = maxBody;
        }

        @Override
        public String method() {
            return req.prologue().method().text();
        }

        @Override
        public String path() {
            return req.path().rawPath();
        }

        @Override
        public byte[] body() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            try (InputStream in = req.content().inputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    if (out.size() > maxBody) {
                        throw new ApiException(413, "invalid_request_error", "request_too_large", null, "too large", 0);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (e instanceof ApiException ae) throw ae;
                throw new ApiException(400, "invalid_request_error", "truncated_body", null, "body: " + e.getMessage(), 0);
            }
            return out.toByteArray();
        }

        @Override
        public void respond(int status, String contentType, byte[] body, int retryAfterSeconds) {
            res.status(Status.create(status));
            res.header(HeaderNames.CONTENT_TYPE, contentType);
            if (retryAfterSeconds > 0) res.header(HeaderNames.RETRY_AFTER, Integer.toString(retryAfterSeconds));
            res.send(body);
        }

        @Override
        public void startEvents() {
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            events = res.outputStream();
        }

        @Override
        public void event(String data) throws IOException {
            events.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
            events.flush();
        }

        void finish() throws IOException {
            if (events != null) events.close();
        }
    }
}
