package dev.nexusquant.store;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Opens a store from a spec, as {@code --kv-store} takes it:
 * <ul>
 *   <li>{@code dir:PATH} — a {@link DirectoryKvStore} in PATH (created if missing), capped at
 *       {@link #DEFAULT_DIR_CAP} bytes unless another cap is given;</li>
 *   <li>{@code redis://HOST:PORT} or {@code redis://HOST:PORT/DB} — a {@link RedisKvStore}; an IPv6 host in brackets.</li>
 * </ul>
 */
public final class KvStores {

    /** Default cap of a directory store: 4 GiB. */
    public static final long DEFAULT_DIR_CAP = 4L << 30;

    static final String FORMS = "expected dir:PATH or redis://HOST:PORT[/DB]";

    private KvStores() {
    }

    /** Opens the store named by {@code spec} (directory stores with the default cap). */
    public static KvStore open(String spec) throws KvStoreException {
        return open(spec, DEFAULT_DIR_CAP);
    }

    /**
     * Opens the store named by {@code spec}; a directory store holds at most {@code dirCapBytes}.
     *
     * @throws IllegalArgumentException when the spec is malformed (the message says what is wrong and what is expected)
     * @throws KvStoreException         when a directory store cannot be created
     */
    public static KvStore open(String spec, long dirCapBytes) throws KvStoreException {
        if (spec == null || spec.isBlank()) throw bad(spec, "the spec is empty");
        String s = spec.strip();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("dir:")) {
            String path = s.substring(4);
            if (path.isEmpty()) throw bad(spec, "no directory after dir:");
            try {
                return new DirectoryKvStore(Path.of(path), dirCapBytes);
            } catch (InvalidPathException e) {
                throw bad(spec, "not a valid path: " + e.getMessage());
            }
        }
        if (lower.startsWith("redis://")) {
            Redis r = parseRedis(spec, s.substring(8));
            return new RedisKvStore(r.host, r.port, r.db, RedisKvStore.DEFAULT_TIMEOUT);
        }
        if (lower.startsWith("rediss://")) throw bad(spec, "TLS (rediss://) is not supported");
        throw bad(spec, "unknown kind of store");
    }

    public record Redis(String host, int port, int db) {
    }

    static Redis parseRedis(String spec, String rest) {
        if (rest.contains("@")) throw bad(spec, "user names and passwords are not supported");
        if (rest.contains("?")) throw bad(spec, "query parameters are not supported");
        int db = 0;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            String d = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
            if (!d.isEmpty()) {
                if (!d.matches("[0-9]{1,5}")) throw bad(spec, "database \"" + d + "\" is not a number");
                db = Integer.parseInt(d);
            }
        }
        String host;
        String port;
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) throw bad(spec, "unclosed [ in the host");
            host = rest.substring(1, close);
            String after = rest.substring(close + 1);
            if (!after.startsWith(":")) throw bad(spec, "no :PORT after the host");
            port = after.substring(1);
        } else {
            int colon = rest.lastIndexOf(':');
            if (colon < 0) throw bad(spec, "no :PORT after the host");
            host = rest.substring(0, colon);
            port = rest.substring(colon + 1);
            if (host.contains(":")) throw bad(spec, "an IPv6 host must be written in brackets");
        }
        if (host.isEmpty()) throw bad(spec, "no host");
        if (!host.matches("[A-Za-z0-9._:%-]+")) throw bad(spec, "host \"" + host + "\" has characters a host name cannot have");
        if (!port.matches("[0-9]{1,5}")) throw bad(spec, "port \"" + port + "\" is not a number");
        int p = Integer.parseInt(port);
        if (p < 1 || p > 65535) throw bad(spec, "port " + p + " is outside 1..65535");
        return new Redis(host, p, db);
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("bad KV store spec \"" + spec + "\": " + why + " (" + FORMS + ")");
    }
}
