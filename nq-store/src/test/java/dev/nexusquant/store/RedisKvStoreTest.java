package dev.nexusquant.store;

import org.junit.jupiter.api.Test;
import redis.clients.jedis.RedisClient;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Against the real Redis server of {@code NQ_REDIS_URL} (skipped without it). Keys are unique to each run. */
class RedisKvStoreTest {

    private final String run = "t-" + UUID.randomUUID();

    @Test
    void getPutContainsDelete() throws Exception {
        try (KvStore s = KvStores.open(RedisTesting.sharedUrl())) {
            assertInstanceOf(RedisKvStore.class, s);
            String k = run + ".a";
            assertNull(s.get(k));
            assertFalse(s.contains(k));
            s.put(k, new byte[]{0, -1, 2});
            assertTrue(s.contains(k));
            assertArrayEquals(new byte[]{0, -1, 2}, s.get(k));
            s.put(k, new byte[0]);
            assertArrayEquals(new byte[0], s.get(k));
            assertTrue(s.delete(k));
            assertFalse(s.delete(k));
            assertNull(s.get(k));
            assertThrows(IllegalArgumentException.class, () -> s.put("../x", new byte[1]));
        }
    }

    /** Seeded binary values of many sizes (up to 4 MiB) come back byte for byte, from a second client too. */
    @Test
    void binaryValuesRoundTrip() throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        Map<String, byte[]> want = new HashMap<>();
        String url = RedisTesting.sharedUrl();
        try (KvStore a = KvStores.open(url); KvStore b = KvStores.open(url)) {
            for (int i = 0; i < 40; i++) {
                int n = i == 0 ? 4 << 20 : r.nextInt(0, 1 << r.nextInt(1, 18));
                byte[] v = new byte[n];
                r.nextBytes(v);
                String k = run + ".v" + i;
                a.put(k, v);
                want.put(k, v);
            }
            for (var e : want.entrySet()) {
                assertArrayEquals(e.getValue(), b.get(e.getKey()), e.getKey());
                assertTrue(b.delete(e.getKey()));
            }
        }
    }

    /**
     * A value damaged inside Redis (bytes overwritten with SETRANGE, truncated, replaced by another program) comes
     * back damaged from the store, and its check says so: it is never taken for a good value.
     */
    @Test
    void valuesCorruptedInsideRedisAreDetected() throws Exception {
        String url = RedisTesting.sharedUrl();
        KvStores.Redis addr = KvStores.parseRedis(url, url.substring("redis://".length()));
        SplittableRandom r = new SplittableRandom(3);
        try (KvStore s = KvStores.open(url); RedisClient raw = RedisClient.create(addr.host(), addr.port())) {
            for (int i = 0; i < 60; i++) {
                byte[] payload = new byte[r.nextInt(1, 70_000)];
                r.nextBytes(payload);
                String k = run + ".c" + i;
                s.put(k, CheckedValue.wrap(payload));
                assertArrayEquals(payload, CheckedValue.unwrap(s.get(k), k));
                byte[] rk = (RedisKvStore.PREFIX + k).getBytes(StandardCharsets.US_ASCII);
                switch (i % 3) {
                    case 0 -> { // flip a byte in place
                        long at = r.nextLong(0, payload.length + CheckedValue.OVERHEAD);
                        byte[] one = raw.getrange(rk, at, at);
                        raw.setrange(rk, at, new byte[]{(byte) (one[0] ^ (1 << r.nextInt(8)))});
                    }
                    case 1 -> raw.set(rk, java.util.Arrays.copyOf(raw.get(rk), r.nextInt(0, payload.length + CheckedValue.OVERHEAD)));
                    default -> raw.append(rk, new byte[]{7});
                }
                byte[] damaged = s.get(k);
                KvStoreException e = assertThrows(KvStoreException.class, () -> CheckedValue.unwrap(damaged, k));
                assertEquals(KvStoreException.Kind.CORRUPT, e.kind());
                s.delete(k);
            }
        }
    }
}
