package dev.nexusquant.engine.model;

import java.io.IOException;

/**
 * A saved session that cannot be restored; {@link #kind()} says why and the message names what is wrong (the field,
 * or what differs between the models). Nothing was restored: no session exists.
 */
public class SessionRestoreException extends IOException {

    /** Why a saved session cannot be restored. */
    public enum Kind {
        /** The data ends before the saved session does. */
        TRUNCATED,
        /** A checksum, the magic number, a count or a value is wrong. */
        CORRUPT,
        /** The session was saved from another model (the message says what differs). */
        FOREIGN_MODEL,
        /** A format version (of the file, of the cache state or of a codec) this build does not read. */
        UNSUPPORTED_VERSION,
        /** The cache state's type has no reader here (for a compressed cache: nq-kv is not on the class path). */
        UNKNOWN_CACHE_TYPE,
        /** Restoring would need more memory than allowed. */
        TOO_LARGE,
        /**
         * The cache was coded with per-model data kept outside the session (a compressed cache's per-model KLT bases)
         * and the data found here for the model differs (the message names both).
         */
        FOREIGN_BASIS
    }

    private final Kind kind;

    public SessionRestoreException(Kind kind, String message) {
        super(kind + ": " + message);
        this.kind = kind;
    }

    public SessionRestoreException(Kind kind, String message, Throwable cause) {
        super(kind + ": " + message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
