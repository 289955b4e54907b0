package dev.nexusquant.engine.gguf;

import java.io.IOException;

/**
 * A GGUF file (or the model inside it) is malformed, hostile or unsupported. The message names the field, tensor or
 * metadata key that is wrong, and {@link #field()} returns it for programs.
 */
public final class GgufException extends IOException {

    private final String field;

    public GgufException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public GgufException(String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.field = field;
    }

    /** The header field, metadata key or tensor name this error is about. */
    public String field() {
        return field;
    }
}
