package dev.nexusquant.store;

import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;

import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A store on a Redis server (or anything that speaks its protocol: Valkey, KeyDB), shared by every process pointed at
 * it. Keys are stored as {@code "nq:" + key}; values as they are given.
 *
 * <p>Client: Jedis ({@link RedisClient}), pooled (one connection per concurrent caller, at most {@value #POOL_SIZE}).
 * Measured against Lettuce ({@code RedisClientBench}, BENCHMARKS.md): within 13% either way at the prefix store's
 * 3-5 MB entries (Lettuce faster on small values); Jedis is kept for its blocking calls whose timeouts map directly
 * onto typed errors, and for its footprint (one jar and commons-pool2, against Netty and Reactor). Every
 * connect and every read has a timeout ({@link #DEFAULT_TIMEOUT}), and so does waiting for a pooled connection: a dead
 * server, or one that accepts connections and never answers, ends in a {@link KvStoreException} (UNAVAILABLE or
 * TIMEOUT), never in a hang. Nothing is retried here: a caller that can do without the store (the prefix store
 * prefills instead) decides.
 */
public final class RedisKvStore implements KvStore {

    /** Connect, read and pool-wait timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    static final int POOL_SIZE = 8;
    static final String PREFIX = "nq:";

    private final String host;
    private final int port;
    private final String user;
    private final boolean tls;
    private final RedisClient jedis;

    public RedisKvStore(String host, int port) {
        this(host, port, 0, DEFAULT_TIMEOUT);
    }

    /** A store on database {@code db} of the server at {@code host:port}; nothing is connected until first use. */
    public RedisKvStore(String host, int port, int db, Duration timeout) {
        this(new KvStores.Redis(host, port, db), timeout);
    }

    /**
     * A store on the server {@code r} names, logging in as its user with its password when it has one (AUTH on every
     * new connection; a refusal is a {@link KvStoreException.Kind#DENIED}); nothing is connected until first use.
     */
    public RedisKvStore(KvStores.Redis r, Duration timeout) {
        if (r.port() < 1 || r.port() > 65535) throw new IllegalArgumentException("Redis port out of range: " + r.port());
        this.host = r.host();
        this.port = r.port();
        this.user = r.user();
        this.tls = r.tls() != null;
        int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(ms).socketTimeoutMillis(ms).database(r.db()).clientName("nexusquant");
        if (r.password() != null) b.user(r.user()).password(r.password());
        if (r.tls() != null) {
            javax.net.ssl.SSLParameters params = r.tls().getDefaultSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
            b.ssl(true).sslSocketFactory(r.tls().getSocketFactory()).sslParameters(params);
        }
        DefaultJedisClientConfig cfg = b.build();
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(POOL_SIZE);
        pool.setMaxIdle(POOL_SIZE);
        pool.setMinIdle(0);
        pool.setMaxWait(Duration.ofMillis(ms));
        pool.setBlockWhenExhausted(true);
        pool.setJmxEnabled(false);
        this.jedis = RedisClient.builder().hostAndPort(new HostAndPort(host, port)).clientConfig(cfg).poolConfig(pool).build();
    }

    @Override
    public byte[] get(String key) throws KvStoreException {
        byte[] k = redisKey(key);
        try {
            return jedis.get(k);
        } catch (JedisException e) {
            throw failure("get", key, e);
        }
    }

    @Override
    public void put(String key, byte[] value) throws KvStoreException {
        byte[] k = redisKey(key);
        try {
            jedis.set(k, value);
        } catch (JedisException e) {
            throw failure("put", key, e);
        }
    }

    @Override
    public boolean contains(String key) throws KvStoreException {
        byte[] k = redisKey(key);
        try {
            return jedis.exists(k);
        } catch (JedisException e) {
            throw failure("contains", key, e);
        }
    }

    @Override
    public boolean delete(String key) throws KvStoreException {
        byte[] k = redisKey(key);
        try {
            return jedis.del(k) > 0;
        } catch (JedisException e) {
            throw failure("delete", key, e);
        }
    }

    /** Sends PING: UNAVAILABLE or TIMEOUT when the server cannot be used. */
    public void ping() throws KvStoreException {
        try {
            jedis.ping();
        } catch (JedisException e) {
            throw failure("ping", "-", e);
        }
    }

    @Override
    public String describe() {
        return (tls ? "rediss://" : "redis://") + (user == null ? "" : user + "@") + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public void close() {
        jedis.close();
    }

    static byte[] redisKey(String key) {
        return (PREFIX + StoreKeys.check(key)).getBytes(StandardCharsets.US_ASCII);
    }

    private KvStoreException failure(String op, String key, JedisException e) {
        KvStoreException.Kind kind;
        if (timedOut(e)) {
            kind = KvStoreException.Kind.TIMEOUT;
        } else if (denied(e)) {
            kind = KvStoreException.Kind.DENIED;
        } else if (e instanceof JedisConnectionException) {
            kind = KvStoreException.Kind.UNAVAILABLE;
        } else {
            kind = KvStoreException.Kind.IO;
        }
        String why = e.getMessage();
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) why += "; " + c;
        return new KvStoreException(kind, op + " " + key + " on " + describe() + ": " + why, e);
    }

    /**
     * AUTH refused (wrong password, unknown or disabled user), a command the ACL user may not run, or a TLS handshake
     * that failed (a certificate not trusted or not naming the host).
     */
    private static boolean denied(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof JedisAccessControlException || c instanceof javax.net.ssl.SSLHandshakeException) return true;
            String m = String.valueOf(c.getMessage());
            if (m.startsWith("NOAUTH") || m.startsWith("WRONGPASS") || m.startsWith("NOPERM")) return true;
        }
        return false;
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException) return true;
            if (c instanceof java.util.NoSuchElementException && String.valueOf(c.getMessage()).contains("Timeout")) return true;
        }
        return false;
    }
}
