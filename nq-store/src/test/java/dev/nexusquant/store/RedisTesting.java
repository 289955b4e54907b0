package dev.nexusquant.store;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Redis for tests. {@link #sharedUrl()} is the server {@code .ci/run} starts ({@code NQ_REDIS_URL}); without it the
 * test is skipped (counted as skipped, with a one-line reason), so developers without Redis still pass.
 * {@link OwnServer} starts a private {@code redis-server} on a free loopback port, for tests that kill it.
 */
public final class RedisTesting {

    static final String ENV = "NQ_REDIS_URL";

    private RedisTesting() {
    }

    /** The shared test server's URL; skips the test when {@code NQ_REDIS_URL} is not set. */
    public static String sharedUrl() {
        String url = System.getenv(ENV);
        if (url == null || url.isBlank()) {
            String why = ENV + " is not set (.ci/run starts a Redis server and sets it)";
            System.out.println("[skip] Redis test: " + why);
            Assumptions.abort(why);
        }
        return url.strip();
    }

    /** A free TCP port on the loopback interface (free when this returns; tests use it at once). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The redis-server executable, or a skip when there is none (CI installs it). */
    static String redisServerBinary() {
        String env = System.getenv("NQ_REDIS_SERVER");
        if (env != null && Files.isExecutable(Path.of(env))) return env;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "redis-server");
            if (Files.isExecutable(p)) return p.toString();
        }
        for (String p : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server")) {
            if (Files.isExecutable(Path.of(p))) return p;
        }
        String why = "redis-server is not installed (.ci/run installs it)";
        System.out.println("[skip] Redis test: " + why);
        Assumptions.abort(why);
        return null;
    }

    /** A private redis-server on a free loopback port: no persistence; {@link #kill()} ends it at once. */
    public static final class OwnServer implements AutoCloseable {
        final int port;
        private final Process process;

        public OwnServer() throws IOException, InterruptedException {
            this(List.of());
        }

        /** A private server started with {@code extra} arguments too (say {@code --requirepass PW}). */
        public OwnServer(List<String> extra) throws IOException, InterruptedException {
            String bin = redisServerBinary();
            this.port = freePort();
            List<String> cmd = new ArrayList<>(List.of(bin, "--port", String.valueOf(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--protected-mode", "yes"));
            cmd.addAll(extra);
            this.process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // ready when it answers PING; bounded: 200 tries, 50 ms apart
            try (RedisKvStore probe = new RedisKvStore("127.0.0.1", port)) {
                for (int i = 0; ; i++) {
                    try {
                        probe.ping();
                        return;
                    } catch (KvStoreException e) {
                        if (e.kind() == KvStoreException.Kind.DENIED) return; // it answers: it wants a password
                        if (i >= 200 || !process.isAlive()) {
                            kill();
                            throw new IOException("redis-server on port " + port + " did not start: " + e.getMessage());
                        }
                        Thread.sleep(50);
                    }
                }
            }
        }

        public String url() {
            return "redis://127.0.0.1:" + port;
        }

        /** Kills the server (SIGKILL) and waits for it to be gone. */
        public void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            try {
                kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
