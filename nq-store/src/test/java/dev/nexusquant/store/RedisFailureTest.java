package dev.nexusquant.store;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Redis store that cannot be used ends in a typed error, never in a hang. The bounds below (tens of seconds against
 * a 2 s timeout) only keep a broken build from hanging; they are not measurements.
 */
class RedisFailureTest {

    private static final Duration BOUND = Duration.ofSeconds(60);

    @Test
    void nobodyListeningIsUnavailable() throws Exception {
        int port = RedisTesting.freePort();
        try (KvStore s = KvStores.open("redis://127.0.0.1:" + port)) {
            KvStoreException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class, () -> s.get("k")));
            assertEquals(KvStoreException.Kind.UNAVAILABLE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("redis://127.0.0.1:" + port), e.getMessage());
            assertThrows(KvStoreException.class, () -> s.put("k", new byte[1]));
        }
    }

    /** A server that accepts connections and never answers: every operation times out. */
    @Test
    void aSilentServerTimesOut() throws Exception {
        List<Socket> accepted = new ArrayList<>();
        ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Socket c = silent.accept(); // held open, never read from or written to
                    synchronized (accepted) {
                        accepted.add(c);
                    }
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        try (KvStore s = new RedisKvStore("127.0.0.1", silent.getLocalPort(), 0, Duration.ofMillis(500))) {
            for (int i = 0; i < 3; i++) {
                KvStoreException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class,
                        () -> s.put("k", new byte[100])));
                assertEquals(KvStoreException.Kind.TIMEOUT, e.kind(), e.getMessage());
                KvStoreException g = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class, () -> s.get("k")));
                assertEquals(KvStoreException.Kind.TIMEOUT, g.kind(), g.getMessage());
            }
        } finally {
            silent.close(); // ends the acceptor
            acceptor.join(10_000);
            synchronized (accepted) {
                for (Socket c : accepted) c.close();
            }
        }
    }

    /** A private redis-server killed while in use: the next operations fail UNAVAILABLE, quickly; a new one serves again. */
    @Test
    void aKilledServerGivesClearErrors() throws Exception {
        RedisTesting.OwnServer server = new RedisTesting.OwnServer();
        try (KvStore s = KvStores.open(server.url())) {
            s.put("x", new byte[]{1, 2});
            assertArrayEquals(new byte[]{1, 2}, s.get("x"));
            server.kill();
            for (int i = 0; i < 3; i++) {
                KvStoreException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class, () -> s.get("x")));
                assertEquals(KvStoreException.Kind.UNAVAILABLE, e.kind(), e.getMessage());
            }
        } finally {
            server.close();
        }
    }
}
