package dev.nexusquant.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rediss://}: a private {@code redis-server} with a TLS port whose certificate a throwaway CA signed for
 * 127.0.0.1 (made with {@code openssl} in a temporary folder; the test is skipped, visibly, without openssl). Trusting
 * that CA ({@code NQ_REDIS_CA}) the store works; with the JVM's CAs, or a certificate that names another host, it is
 * DENIED with the reason, never connected in the clear.
 */
class RedisTlsTest {

    private static final Duration BOUND = Duration.ofSeconds(60);
    @TempDir
    static Path dir;
    private static RedisTesting.OwnServer right, wrongName;
    private static int rightPort, wrongPort;

    @BeforeAll
    static void start() throws Exception {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=nq-test-ca",
                "-keyout", "ca.key", "-out", "ca.pem");
        serverCert("right", "IP:127.0.0.1");
        serverCert("wrong", "DNS:elsewhere.invalid");
        rightPort = RedisTesting.freePort();
        right = new RedisTesting.OwnServer(tlsArgs("right", rightPort));
        wrongPort = RedisTesting.freePort();
        wrongName = new RedisTesting.OwnServer(tlsArgs("wrong", wrongPort));
    }

    @AfterAll
    static void stop() {
        if (right != null) right.close();
        if (wrongName != null) wrongName.close();
    }

    private static List<String> tlsArgs(String name, int port) {
        return List.of("--tls-port", String.valueOf(port), "--tls-cert-file", dir.resolve(name + ".pem").toString(),
                "--tls-key-file", dir.resolve(name + ".key").toString(), "--tls-ca-cert-file", dir.resolve("ca.pem").toString(),
                "--tls-auth-clients", "no");
    }

    private static void serverCert(String name, String san) throws Exception {
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=" + san + "\n");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key", "-out", name + ".csr");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-extfile", name + ".ext", "-out", name + ".pem");
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            System.out.println("[skip] Redis TLS test: openssl is not installed");
            Assumptions.abort("openssl is not installed");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl did not finish: " + cmd);
        }
        assertEquals(0, p.exitValue(), cmd + ": " + out);
    }

    private static KvStore open(String spec, Path ca) throws KvStoreException {
        return KvStores.open(spec, 1, name -> name.equals(KvStores.CA_ENV) && ca != null ? ca.toString() : null);
    }

    @Test
    void trustingTheServersCaStoresAndReads() throws Exception {
        try (KvStore s = open("rediss://127.0.0.1:" + rightPort, dir.resolve("ca.pem"))) {
            byte[] v = "over tls".getBytes(StandardCharsets.UTF_8);
            s.put("tls-test", v);
            assertArrayEquals(v, s.get("tls-test"));
            assertTrue(s.delete("tls-test"));
            assertEquals("rediss://127.0.0.1:" + rightPort, s.describe());
        }
    }

    @Test
    void anUntrustedOrMisnamedCertificateIsDenied() throws Exception {
        for (var c : List.of(new Object[]{rightPort, null, "not trusted"}, new Object[]{wrongPort, dir.resolve("ca.pem"), "wrong name"})) {
            try (KvStore s = open("rediss://127.0.0.1:" + c[0], (Path) c[1])) {
                KvStoreException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(KvStoreException.class, () -> s.get("tls-test")));
                assertEquals(KvStoreException.Kind.DENIED, e.kind(), c[2] + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("rediss://127.0.0.1:" + c[0]), e.getMessage());
            }
        }
    }

    @Test
    void aBadCaFileIsAClearError() throws Exception {
        Path notPem = dir.resolve("not.pem");
        Files.writeString(notPem, "hello");
        for (Path ca : List.of(dir.resolve("missing.pem"), notPem)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open("rediss://127.0.0.1:" + rightPort, ca));
            assertTrue(e.getMessage().contains(KvStores.CA_ENV + "=" + ca), e.getMessage());
        }
    }
}
