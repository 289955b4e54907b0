package dev.nexusquant.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Redis server that wants a password: a private {@code redis-server} with {@code requirepass} for the default user,
 * an ACL user {@code alice} allowed the store's keys and {@code carol} allowed only other keys. The right credentials
 * store and read; missing or wrong ones, or an ACL without the keys, end in {@link KvStoreException.Kind#DENIED}
 * naming the store, and no message carries a password.
 */
class RedisAuthTest {

    private static final Duration BOUND = Duration.ofSeconds(60);
    private static RedisTesting.OwnServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new RedisTesting.OwnServer(List.of("--requirepass", "def-pw",
                "--user", "alice", "on", ">s3cret", "~nq:*", "+@all",
                "--user", "carol", "on", ">c-pw", "~other:*", "+@all"));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static String at() {
        return "127.0.0.1:" + server.port;
    }

    private static void roundTrip(KvStore s) throws KvStoreException {
        byte[] v = "value".getBytes(StandardCharsets.UTF_8);
        s.put("auth-test", v);
        assertArrayEquals(v, s.get("auth-test"));
        assertTrue(s.delete("auth-test"));
    }

    @Test
    void theRightCredentialsStoreAndRead() throws Exception {
        try (KvStore s = KvStores.open("redis://alice:s3cret@" + at())) {
            roundTrip(s);
            assertEquals("redis://alice@" + at(), s.describe());
        }
        try (KvStore s = KvStores.open("redis://:def-pw@" + at())) {
            roundTrip(s);
        }
        try (KvStore s = KvStores.open("redis://alice@" + at(), 1, name -> name.equals(KvStores.PASSWORD_ENV) ? "s3cret" : null)) { // the password from the environment
            roundTrip(s);
        }
    }

    @Test
    void missingOrWrongCredentialsAreDenied() throws Exception {
        for (String spec : List.of("redis://" + at(), "redis://alice:wrong-one@" + at(), "redis://:wrong-one@" + at(),
                "redis://carol:c-pw@" + at())) {
            try (KvStore s = KvStores.open(spec)) {
                KvStoreException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class,
                        () -> s.put("auth-test", new byte[1])));
                assertEquals(KvStoreException.Kind.DENIED, e.kind(), spec + ": " + e.getMessage());
                assertTrue(e.getMessage().contains(at()), e.getMessage());
                assertFalse(e.getMessage().contains("wrong-one") || e.getMessage().contains("c-pw"), e.getMessage());
                e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class, () -> s.get("auth-test")));
                assertEquals(KvStoreException.Kind.DENIED, e.kind(), spec + ": " + e.getMessage());
            }
        }
    }
}
