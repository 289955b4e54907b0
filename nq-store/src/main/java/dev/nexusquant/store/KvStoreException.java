package dev.nexusquant.store;

import java.io.IOException;

/** A store could not do what was asked; {@link #kind()} says why, the message names the store and the key. */
public final class KvStoreException extends IOException {

    /** Why a store operation failed. */
    public enum Kind {
        /** The store cannot be reached (connection refused, server gone, directory missing or not writable). */
        UNAVAILABLE,
        /** The store did not answer in time. */
        TIMEOUT,
        /** The store answered with an error, or a file operation failed. */
        IO,
        /**
         * Login or trust failed: the store refused who we are or what we asked (wrong password, unknown user, an ACL
         * without the command), or its TLS certificate is not trusted or does not name the host.
         */
        DENIED,
        /** A value read back is damaged (its check does not match). */
        CORRUPT
    }

    private final Kind kind;

    public KvStoreException(Kind kind, String message, Throwable cause) {
        super(kind.name().toLowerCase(java.util.Locale.ROOT) + ": " + message, cause);
        this.kind = kind;
    }

    public KvStoreException(Kind kind, String message) {
        this(kind, message, null);
    }

    public Kind kind() {
        return kind;
    }
}
