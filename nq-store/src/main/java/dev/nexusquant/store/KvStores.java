package dev.nexusquant.store;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Opens a store from a spec, as {@code --kv-store} takes it:
 * <ul>
 *   <li>{@code dir:PATH} — a {@link DirectoryKvStore} in PATH (created if missing), capped at
 *       {@link #DEFAULT_DIR_CAP} bytes unless another cap is given;</li>
 *   <li>{@code redis://[USER[:PASSWORD]@]HOST:PORT[/DB]} — a {@link RedisKvStore}; an IPv6 host in brackets. With
 *       credentials the client authenticates (Redis 6 ACL users; {@code :PASSWORD@} for the default user's
 *       {@code requirepass}); a password left out of the spec is taken from the environment variable
 *       {@value #PASSWORD_ENV} when it is set, so that it need not appear on a command line. User and password may be
 *       percent-encoded ({@code %40} for {@code @}). A password is never written into messages or
 *       {@link KvStore#describe()}.</li>
 *   <li>{@code rediss://...} — the same over TLS: the server's certificate must chain to a trusted CA and name the
 *       host (checked as HTTPS clients check it); trusted are the JVM's CAs, or only the PEM certificates in the file
 *       that {@value #CA_ENV} names (a private CA).</li>
 * </ul>
 */
public final class KvStores {

    /** Default cap of a directory store: 4 GiB. */
    public static final long DEFAULT_DIR_CAP = 4L << 30;

    static final String FORMS = "expected dir:PATH or redis[s]://[USER[:PASSWORD]@]HOST:PORT[/DB]";

    /** The environment variable a Redis password is read from when the spec has none. */
    public static final String PASSWORD_ENV = "NQ_REDIS_PASSWORD";

    /** The environment variable naming a PEM file of CA certificates to trust for {@code rediss://} instead of the JVM's. */
    public static final String CA_ENV = "NQ_REDIS_CA";

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
        return open(spec, dirCapBytes, System::getenv);
    }

    /** {@link #open(String, long)} with {@code env} standing for the environment (null: not set). */
    static KvStore open(String spec, long dirCapBytes, java.util.function.UnaryOperator<String> env) throws KvStoreException {
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
        boolean tls = lower.startsWith("rediss://");
        if (tls || lower.startsWith("redis://")) {
            Redis r = parseRedis(spec, s.substring(tls ? 9 : 8));
            String envPassword = env.apply(PASSWORD_ENV);
            if (r.password() == null && envPassword != null && !envPassword.isEmpty()) r = r.withPassword(envPassword);
            if (r.user() != null && r.password() == null) {
                throw bad(spec, "user " + r.user() + " has no password (give USER:PASSWORD@ or set " + PASSWORD_ENV + ")");
            }
            if (!tls) return new RedisKvStore(r, RedisKvStore.DEFAULT_TIMEOUT);
            String ca = env.apply(CA_ENV);
            return new RedisKvStore(r.withTls(RedisTls.context(ca == null || ca.isEmpty() ? null : Path.of(ca))),
                    RedisKvStore.DEFAULT_TIMEOUT);
        }
        throw bad(spec, "unknown kind of store");
    }

    /**
     * Where a Redis store is and who it logs in as.
     *
     * @param user     ACL user name, or null for the default user
     * @param password password, or null for none (then no AUTH is sent)
     * @param tls      the TLS context to connect with ({@code rediss://}), or null for plain TCP
     */
    public record Redis(String host, int port, int db, String user, String password, javax.net.ssl.SSLContext tls) {

        public Redis(String host, int port, int db) {
            this(host, port, db, null, null, null);
        }

        public Redis(String host, int port, int db, String user, String password) {
            this(host, port, db, user, password, null);
        }

        Redis withPassword(String p) {
            return new Redis(host, port, db, user, p, tls);
        }

        Redis withTls(javax.net.ssl.SSLContext c) {
            return new Redis(host, port, db, user, password, c);
        }

        @Override
        public String toString() { // never the password
            return "Redis[host=" + host + ", port=" + port + ", db=" + db + ", user=" + user
                    + ", password=" + (password == null ? "none" : "(set)") + ", tls=" + (tls != null) + "]";
        }
    }

    static Redis parseRedis(String spec, String rest) {
        if (rest.contains("?")) throw bad(spec, "query parameters are not supported");
        String user = null, password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String info = rest.substring(0, at);
            rest = rest.substring(at + 1);
            int colon = info.indexOf(':');
            String u = colon >= 0 ? info.substring(0, colon) : info;
            if (!u.isEmpty()) user = percentDecode(spec, u, "user name");
            if (colon >= 0) {
                password = percentDecode(spec, info.substring(colon + 1), "password");
                if (password.isEmpty()) throw bad(spec, "an empty password after ':' (leave out ':' to take it from " + PASSWORD_ENV + ")");
            }
            if (user == null && password == null) throw bad(spec, "nothing before '@'");
        }
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
        return new Redis(host, p, db, user, password);
    }

    /** {@code %XX} escapes decoded as UTF-8 (the text between them kept as it is); a stray or malformed {@code %} is refused. */
    private static String percentDecode(String spec, String s, String what) {
        if (s.indexOf('%') < 0) return s;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int from = 0;
        for (int i = s.indexOf('%'); i >= 0; i = s.indexOf('%', from)) {
            out.writeBytes(s.substring(from, i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
            int lo = hi >= 0 ? Character.digit(s.charAt(i + 2), 16) : -1;
            if (hi < 0 || lo < 0) throw bad(spec, "the " + what + " has a '%' not followed by two hex digits");
            out.write(hi * 16 + lo);
            from = i + 3;
        }
        out.writeBytes(s.substring(from).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("bad KV store spec \"" + redacted(spec) + "\": " + why + " (" + FORMS + ")");
    }

    /** The spec with any password in it replaced by {@code ***}. */
    static String redacted(String spec) {
        if (spec == null) return null;
        int scheme = spec.indexOf("://");
        int at = spec.lastIndexOf('@');
        if (scheme < 0 || at < scheme) return spec;
        int colon = spec.indexOf(':', scheme + 3);
        if (colon < 0 || colon > at) return spec;
        return spec.substring(0, colon + 1) + "***" + spec.substring(at);
    }
}
