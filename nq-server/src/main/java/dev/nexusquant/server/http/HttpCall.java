package dev.nexusquant.server.http;

import dev.nexusquant.server.api.ApiException;

import java.io.IOException;

/**
 * One HTTP request as the API sees it, whatever server carries it: the HTTP library parses the protocol; this is the
 * small surface the {@link OpenAiApi} needs.
 */
public interface HttpCall {

    String method();

    /** The path, without the query. */
    String path();

    /**
     * The whole body, read with the server's limits.
     *
     * @throws ApiException 413 when it is too large, 408 when it arrives too slowly, 400 when it is cut short
     */
    byte[] body();

    /** Sends a complete response. */
    void respond(int status, String contentType, byte[] body, int retryAfterSeconds) throws IOException;

    /** Starts a 200 {@code text/event-stream} response; events are written with {@link #event}. */
    void startEvents() throws IOException;

    /** Writes one server-sent event ({@code data: ...\n\n}) and flushes it. */
    void event(String data) throws IOException;
}
