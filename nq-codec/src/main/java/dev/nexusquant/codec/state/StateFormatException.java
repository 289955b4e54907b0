package dev.nexusquant.codec.state;

import java.io.IOException;

/**
 * Saved state that cannot be read: the message names the field and what is wrong with it; {@link #problem()} says
 * which kind of problem it is, so that callers can map it to their own typed errors.
 */
public class StateFormatException extends IOException {

    /** What is wrong with the bytes. */
    public enum Problem {
        /** The bytes end before the state does. */
        TRUNCATED,
        /** A checksum, a magic number, a count or a value is wrong. */
        CORRUPT,
        /** A format version (of the container or of a codec) that this reader does not read. */
        UNSUPPORTED_VERSION,
        /** The state would need more memory than the reader allows. */
        TOO_LARGE,
        /**
         * The state was coded against data shared outside it (a per-model KLT basis) and the data this reader has for
         * it differs: reading would decode the rows in the wrong coordinates.
         */
        FOREIGN_SHARED_DATA
    }

    private final Problem problem;
    private final String field;

    public StateFormatException(Problem problem, String field, String message) {
        super(field + ": " + message);
        this.problem = problem;
        this.field = field;
    }

    public StateFormatException(Problem problem, String field, String message, Throwable cause) {
        super(field + ": " + message, cause);
        this.problem = problem;
        this.field = field;
    }

    public Problem problem() {
        return problem;
    }

    /** The field that could not be read, such as {@code "payload.crc"} or {@code "layer[3].head[1].window.count"}. */
    public String field() {
        return field;
    }
}
