package dev.nexusquant.server.api;

/**
 * An error the API answers with an OpenAI-style JSON body: {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * @see ApiErrors for the ones the server raises
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;
    private final int retryAfterSeconds;

    public ApiException(int status, String type, String code, String param, String message, int retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400 invalid_request_error about one field. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", "invalid_value", param, message, 0);
    }

    /** 400 about a field of the wrong JSON type. */
    public static ApiException wrongType(String param, String expected) {
        return new ApiException(400, "invalid_request_error", "invalid_type", param,
                "'" + param + "' must be " + expected, 0);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }

    /** Seconds for the Retry-After header (429 and 503), 0 for none. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
