package dev.nexusquant.codec.container;

import java.io.IOException;

/**
 * A container that cannot be read: truncated, extended, corrupted, of an unknown version, or inconsistent. The message
 * names the field and what is wrong with it; {@link #field()} gives the field alone.
 */
public class CorruptContainerException extends IOException {

    private final String field;

    public CorruptContainerException(String field, String message) {
        super("corrupt KV container: " + field + ": " + message);
        this.field = field;
    }

    public CorruptContainerException(String field, String message, Throwable cause) {
        super("corrupt KV container: " + field + ": " + message, cause);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
