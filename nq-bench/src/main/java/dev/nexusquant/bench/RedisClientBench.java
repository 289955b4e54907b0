package dev.nexusquant.bench;

import dev.nexusquant.store.KvStoreException;
import dev.nexusquant.store.RedisKvStore;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;

import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The measurement behind the Redis client choice of {@link RedisKvStore}: a SET then a GET of one value, through Jedis
 * (the store itself, pooled) and through Lettuce (one shared connection, synchronous API, as a store would use it),
 * on values of the sizes the prefix store writes. Rounds alternate between the two clients (interleaved, after a
 * warm-up); each round times {@code ops} SET+GET pairs; the table gives the median microseconds per pair and the
 * Lettuce/Jedis ratio.
 * Run (a Redis server on 127.0.0.1:6379, or give host port):
 * {@code java -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.RedisClientBench 127.0.0.1 6379}
 */
public final class RedisClientBench {

    public static void main(String[] args) throws Exception {
        String host = args.length > 0 ? args[0] : "127.0.0.1";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 6379;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 15;
        int[] sizes = {16 << 10, 64 << 10, 256 << 10, 1 << 20, 3 << 20};
        RedisClient lettuce = RedisClient.create(RedisURI.builder().withHost(host).withPort(port)
                .withTimeout(Duration.ofSeconds(2)).build());
        try (RedisKvStore jedis = new RedisKvStore(host, port);
             StatefulRedisConnection<byte[], byte[]> conn = lettuce.connect(ByteArrayCodec.INSTANCE)) {
            RedisCommands<byte[], byte[]> cmd = conn.sync();
            System.out.printf("load average at start: %s%n", loadAverage());
            System.out.println("| value | Jedis µs/(SET+GET) | Lettuce µs/(SET+GET) | Lettuce / Jedis |");
            System.out.println("|---|---|---|---|");
            for (int size : sizes) {
                byte[] v = new byte[size];
                new SplittableRandom(size).nextBytes(v);
                int ops = Math.max(4, (int) Math.min(200, (32L << 20) / size));
                double[] j = new double[rounds], l = new double[rounds];
                for (int w = 0; w < 3; w++) { // warm-up
                    jedisRound(jedis, v, ops);
                    lettuceRound(cmd, v, ops);
                }
                for (int r = 0; r < rounds; r++) {
                    if (r % 2 == 0) {
                        j[r] = jedisRound(jedis, v, ops);
                        l[r] = lettuceRound(cmd, v, ops);
                    } else {
                        l[r] = lettuceRound(cmd, v, ops);
                        j[r] = jedisRound(jedis, v, ops);
                    }
                }
                double mj = median(j), ml = median(l);
                System.out.printf("| %d KiB | %.0f | %.0f | %.2fx |%n", size >> 10, mj, ml, ml / mj);
                jedis.delete("bench-jedis");
                cmd.del("nq:bench-lettuce".getBytes());
            }
            System.out.printf("load average at end: %s%n", loadAverage());
        } finally {
            lettuce.shutdown();
        }
    }

    private static double jedisRound(RedisKvStore s, byte[] v, int ops) throws KvStoreException {
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            s.put("bench-jedis", v);
            if (s.get("bench-jedis").length != v.length) throw new IllegalStateException("jedis: wrong length");
        }
        return (System.nanoTime() - t0) / 1e3 / ops;
    }

    private static double lettuceRound(RedisCommands<byte[], byte[]> cmd, byte[] v, int ops) {
        byte[] k = "nq:bench-lettuce".getBytes();
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            cmd.set(k, v);
            if (cmd.get(k).length != v.length) throw new IllegalStateException("lettuce: wrong length");
        }
        return (System.nanoTime() - t0) / 1e3 / ops;
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }
}
