package dev.nexusquant.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nexusquant.server.CompletionService;
import dev.nexusquant.server.api.ApiException;
import dev.nexusquant.server.api.CompletionRequest;
import dev.nexusquant.server.api.Json;
import dev.nexusquant.server.api.RequestParser;
import dev.nexusquant.server.generation.TurnResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The OpenAI-compatible routes: {@code POST /v1/completions}, {@code POST /v1/chat/completions} (JSON or
 * server-sent events), {@code GET /v1/models}, {@code GET /health}, {@code GET /metrics}. Every error is an OpenAI-style
 * JSON body with the matching status: 400 bad request, 404 unknown path, 405 wrong method, 408 slow body, 413 large
 * body, 429 queue full (Retry-After), 503 no KV memory (Retry-After when waiting may help), 500 for a bug.
 */
public final class OpenAiApi {

    private static final String JSON = "application/json";
    private static final AtomicLong IDS = new AtomicLong();
    private final CompletionService service;

    public OpenAiApi(CompletionService service) {
        this.service = service;
    }

    public CompletionService service() {
        return service;
    }

    /** Handles one call; never throws. */
    public void handle(HttpCall call) {
        String endpoint = call.path();
        int status;
        try {
            status = route(call);
        } catch (ApiException e) {
            status = e.status();
            sendError(call, e);
        } catch (RuntimeException | Error e) {
            status = 500;
            sendError(call, new ApiException(500, "server_error", "internal_error", null,
                    "internal error: " + e.getClass().getSimpleName(), 0));
        }
        service.metrics().response(known(endpoint), status);
    }

    private static String known(String path) {
        return switch (path) {
            case "/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics" -> path;
            default -> "other";
        };
    }

    private int route(HttpCall call) throws ApiException {
        String path = call.path();
        String method = call.method();
        switch (path) {
            case "/v1/chat/completions", "/v1/completions" -> {
                requireMethod(method, "POST");
                return completion(call, path.equals("/v1/chat/completions"));
            }
            case "/v1/models" -> {
                requireMethod(method, "GET");
                ObjectNode root = Json.MAPPER.createObjectNode();
                root.put("object", "list");
                ObjectNode m = root.putArray("data").addObject();
                m.put("id", service.modelId());
                m.put("object", "model");
                m.put("created", 0);
                m.put("owned_by", "nexusquant");
                m.put("kv_cache", service.config().kv().describe());
                m.put("context_length", service.model().config().contextLength());
                m.put("chat_template", service.template().describe());
                return ok(call, Json.bytes(root));
            }
            case "/health" -> {
                requireMethod(method, "GET");
                ObjectNode root = Json.MAPPER.createObjectNode();
                root.put("status", "ok");
                root.put("model", service.modelId());
                return ok(call, Json.bytes(root));
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                send(call, 200, "text/plain; version=0.0.4; charset=utf-8",
                        service.renderMetrics().getBytes(StandardCharsets.UTF_8), 0);
                return 200;
            }
            default -> throw new ApiException(404, "invalid_request_error", "not_found", null,
                    "unknown path " + clip(path) + " (the API has /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)", 0);
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiException(405, "invalid_request_error", "method_not_allowed", null,
                    "method " + clip(method) + " is not allowed here; use " + allowed, 0);
        }
    }

    private int ok(HttpCall call, byte[] body) {
        send(call, 200, JSON, body, 0);
        return 200;
    }

    private int completion(HttpCall call, boolean chat) {
        ObjectNode body = Json.parseObject(call.body());
        CompletionRequest r = RequestParser.parse(body, chat);
        RequestParser.checkModel(body, service.modelId());
        CompletionService.Prepared p = service.prepare(r);
        String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(System.currentTimeMillis()) + "-" + IDS.incrementAndGet();
        long created = System.currentTimeMillis() / 1000;
        return r.stream() ? stream(call, p, id, created) : whole(call, p, id, created);
    }

    private int whole(HttpCall call, CompletionService.Prepared p, String id, long created) {
        Future<TurnResult> f = service.submit(p, () -> { }, text -> { }, () -> false);
        TurnResult res = await(f);
        boolean chat = p.request().chat();
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("id", id);
        root.put("object", chat ? "chat.completion" : "text_completion");
        root.put("created", created);
        root.put("model", service.modelId());
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode msg = choice.putObject("message");
            msg.put("role", "assistant");
            msg.put("content", res.text());
        } else {
            choice.put("text", res.text());
            choice.putNull("logprobs");
        }
        choice.put("finish_reason", res.finish().openAi);
        usage(root.putObject("usage"), p, res);
        return ok(call, Json.bytes(root));
    }

    private static void usage(ObjectNode u, CompletionService.Prepared p, TurnResult res) {
        u.put("prompt_tokens", p.prompt().length);
        u.put("completion_tokens", res.completionTokens());
        u.put("total_tokens", p.prompt().length + res.completionTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", p.prompt().length - res.prefilled());
    }

    private int stream(HttpCall call, CompletionService.Prepared p, String id, long created) {
        boolean chat = p.request().chat();
        AtomicBoolean gone = new AtomicBoolean();
        AtomicBoolean started = new AtomicBoolean();
        Runnable onStart = () -> {
            try {
                call.startEvents();
                started.set(true);
                if (chat) {
                    ObjectNode c = chunk(id, created, true);
                    ObjectNode choice = (ObjectNode) c.get("choices").get(0);
                    choice.putObject("delta").put("role", "assistant").put("content", "");
                    choice.putNull("finish_reason");
                    call.event(new String(Json.bytes(c), StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                gone.set(true);
            }
        };
        Future<TurnResult> f = service.submit(p, onStart, text -> {
            if (gone.get() || text.isEmpty()) return;
            ObjectNode c = chunk(id, created, chat);
            ObjectNode choice = (ObjectNode) c.get("choices").get(0);
            if (chat) choice.putObject("delta").put("content", text); else choice.put("text", text);
            choice.putNull("finish_reason");
            try {
                call.event(new String(Json.bytes(c), StandardCharsets.UTF_8));
            } catch (IOException e) {
                gone.set(true); // the client went away: the generator stops at its next token
            }
        }, gone::get);
        TurnResult res;
        try {
            res = await(f);
        } catch (ApiException e) {
            if (!started.get()) throw e; // nothing sent yet: a normal error response
            sendErrorEvent(call, e);
            return e.status();
        }
        if (gone.get()) return 499;
        try {
            ObjectNode c = chunk(id, created, chat);
            ObjectNode choice = (ObjectNode) c.get("choices").get(0);
            if (chat) choice.putObject("delta"); else choice.put("text", "");
            choice.put("finish_reason", res.finish().openAi);
            call.event(new String(Json.bytes(c), StandardCharsets.UTF_8));
            if (p.request().includeUsage()) {
                ObjectNode u = chunk(id, created, chat);
                u.putArray("choices");
                usage(u.putObject("usage"), p, res);
                call.event(new String(Json.bytes(u), StandardCharsets.UTF_8));
            }
            call.event("[DONE]");
        } catch (IOException e) {
            return 499;
        }
        return 200;
    }

    private ObjectNode chunk(String id, long created, boolean chat) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("id", id);
        c.put("object", chat ? "chat.completion.chunk" : "text_completion");
        c.put("created", created);
        c.put("model", service.modelId());
        ArrayNode choices = c.putArray("choices");
        choices.addObject().put("index", 0);
        return c;
    }

    private static TurnResult await(Future<TurnResult> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", "interrupted", null, "the server is shutting down", 1);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ApiException ae) throw ae;
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error err) throw err;
            throw new IllegalStateException(c);
        }
    }

    private static void sendError(HttpCall call, ApiException e) {
        send(call, e.status(), JSON, Json.error(e), e.retryAfterSeconds());
    }

    private static void sendErrorEvent(HttpCall call, ApiException e) {
        try {
            call.event(new String(Json.error(e), StandardCharsets.UTF_8));
            call.event("[DONE]");
        } catch (IOException ignored) {
            // the client is gone
        }
    }

    private static void send(HttpCall call, int status, String type, byte[] body, int retryAfter) {
        try {
            call.respond(status, type, body, retryAfter);
        } catch (IOException ignored) {
            // the client is gone; nothing to tell it
        }
    }

    private static String clip(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }
}
