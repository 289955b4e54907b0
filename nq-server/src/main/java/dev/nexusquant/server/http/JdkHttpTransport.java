package dev.nexusquant.server.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.nexusquant.server.api.ApiException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP layer: the JDK's own {@code com.sun.net.httpserver} server (HTTP/1.1 parsing, keep-alive, chunked
 * encoding) with a virtual thread per exchange. Chosen over Helidon SE 4.5 by measurement (BENCHMARKS.md, "Serving":
 * the same API on both, loopback load test); it adds no dependency.
 *
 * <p>Limits: bodies above {@code maxBody} get 413 (from Content-Length before reading, or as they arrive; the rest
 * of the body, up to 64 MiB, is read and dropped first so that the client, still sending, gets the answer); a body
 * that has not arrived within {@code bodyTimeoutMs} gets 408; a client that stops sending altogether is disconnected
 * by the JDK server's own request timer ({@code sun.net.httpserver.maxReqTime}, set from the same timeout when this
 * class is first used, unless already set); at most 200 headers of 380 KiB together (JDK defaults) and 4096 open
 * connections ({@code jdk.httpserver.maxConnections}).
 */
public final class JdkHttpTransport implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;

    public JdkHttpTransport(String host, int port, OpenAiApi api, int maxBody, int bodyTimeoutMs) throws IOException {
        configureJdkServer(bodyTimeoutMs);
        try {
            this.server = HttpServer.create(new InetSocketAddress(host, port), 256);
        } catch (java.net.BindException e) { // the JDK's message names neither the address nor the port
            java.net.BindException named = new java.net.BindException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
            named.initCause(e);
            throw named;
        }
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", ex -> {
            try (ex) {
                api.handle(new Call(ex, maxBody, bodyTimeoutMs));
            }
        });
        server.start();
    }

    /** The JDK server reads these once, when its classes load: set them before, unless the user did. */
    static void configureJdkServer(int bodyTimeoutMs) {
        long secs = Math.max(1, (bodyTimeoutMs + 999) / 1000 + 1);
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", Long.toString(secs));
        }
        if (System.getProperty("jdk.httpserver.maxConnections") == null) {
            System.setProperty("jdk.httpserver.maxConnections", "4096");
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String host() {
        return server.getAddress().getHostString();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One exchange. */
    static final class Call implements HttpCall {
        /** The most bytes of a too-large body read and dropped before the 413 goes out. */
        static final long DRAIN_LIMIT = 64L << 20;

        private final HttpExchange ex;
        private final int maxBody;
        private final int bodyTimeoutMs;
        private final long started = System.nanoTime();
        private OutputStream events;

        Call(HttpExchange ex, int maxBody, int bodyTimeoutMs) {
            this.ex = ex;
            this.maxBody = maxBody;
            this.bodyTimeoutMs = bodyTimeoutMs;
        }

        @Override
        public String method() {
            return ex.getRequestMethod();
        }

        @Override
        public String path() {
            String p = ex.getRequestURI().getRawPath();
            return p == null ? "" : p;
        }

        @Override
        public byte[] body() {
            String cl = ex.getRequestHeaders().getFirst("Content-Length");
            long deadline = started + bodyTimeoutMs * 1_000_000L;
            if (cl != null) {
                try {
                    if (Long.parseLong(cl.trim()) > maxBody) throw tooLarge(deadline);
                } catch (NumberFormatException e) {
                    throw new ApiException(400, "invalid_request_error", "bad_content_length", null, "Content-Length is not a number", 0);
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            try {
                InputStream in = ex.getRequestBody();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    if (out.size() > maxBody) throw tooLarge(deadline);
                    if (System.nanoTime() > deadline) {
                        ex.getResponseHeaders().set("Connection", "close");
                        throw new ApiException(408, "invalid_request_error", "request_timeout", null,
                                "the request body did not arrive within " + bodyTimeoutMs + " ms", 0);
                    }
                }
            } catch (IOException e) {
                ex.getResponseHeaders().set("Connection", "close");
                throw new ApiException(400, "invalid_request_error", "truncated_body", null,
                        "the request body ended early: " + e.getMessage(), 0);
            }
            return out.toByteArray();
        }

        /**
         * The 413 for a body over the limit. The rest of the body is read and dropped first (up to
         * {@link #DRAIN_LIMIT} bytes, within the body's time): a client still sending when the server closes the
         * connection would see a reset instead of the answer. A larger or slower body is cut off by closing.
         */
        private ApiException tooLarge(long deadline) {
            ex.getResponseHeaders().set("Connection", "close");
            try {
                InputStream in = ex.getRequestBody();
                byte[] buf = new byte[65536];
                long drained = 0;
                int n;
                while (drained < DRAIN_LIMIT && System.nanoTime() < deadline && (n = in.read(buf)) >= 0) drained += n;
            } catch (IOException ignored) {
                // the client is gone or slow: the connection closes anyway
            }
            return new ApiException(413, "invalid_request_error", "request_too_large", null,
                    "the request body is larger than " + maxBody + " bytes", 0);
        }

        @Override
        public void respond(int status, String contentType, byte[] body, int retryAfterSeconds) throws IOException {
            if (events != null) throw new IllegalStateException("events already started");
            ex.getResponseHeaders().set("Content-Type", contentType);
            if (retryAfterSeconds > 0) ex.getResponseHeaders().set("Retry-After", Integer.toString(retryAfterSeconds));
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(body);
                }
            }
        }

        @Override
        public void startEvents() throws IOException {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            events = ex.getResponseBody();
        }

        @Override
        public void event(String data) throws IOException {
            events.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
            events.flush();
        }
    }
}
