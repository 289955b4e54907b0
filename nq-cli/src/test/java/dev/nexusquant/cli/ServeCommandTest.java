package dev.nexusquant.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code nq serve}: its help, and one-line errors with exit code 2 for bad arguments (checked before the model loads). */
class ServeCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new String[]{Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void helpNamesTheOptions() {
        String[] r = run("serve", "--help");
        assertEquals("0", r[0]);
        for (String o : new String[]{"--port", "--host", "--kv", "--kv-memory", "--kv-store", "--prefix-store", "--max-sessions"}) {
            assertTrue(r[1].contains(o), o + " in " + r[1]);
        }
        for (String store : new String[]{"evict", "dir:PATH", "redis://HOST:PORT"}) assertTrue(r[1].contains(store), store + " in " + r[1]);
    }

    @Test
    void badArgumentsFailWithOneLine() {
        String[][] cases = {{"serve", "--kv-memory", "0"}, {"serve", "--kv-store", "nowhere:x"}, {"serve", "--port", "x"},
                {"serve", "--kv-memory", "lots"}, {"serve", "--kv-store", "redis://localhost"}, {"serve", "--kv-store", "dir:"},
                {"serve", "--prefix-store"}};
        for (String[] c : cases) {
            String[] r = run(c);
            assertEquals("2", r[0], String.join(" ", c) + ": " + r[2]);
            assertTrue(r[2].startsWith("nq serve: "), r[2]);
            assertEquals(1, r[2].strip().lines().count(), r[2]);
        }
    }

    @Test
    void anUnresolvableHostAndAPortInUseAreNamed() throws Exception {
        // before: "nq serve: Unresolved address" and "nq serve: Address already in use", naming neither
        String[] r = run("serve", "--host", "256.1.1.1", "--port", "0");
        assertEquals("2", r[0], r[2]);
        assertEquals("nq serve: --host 256.1.1.1 is neither an IP address nor a name this machine resolves", r[2].strip());
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String port = Integer.toString(taken.getLocalPort());
            r = run("serve", "--model", dev.nexusquant.engine.testing.Shared.stories260K().toString(), "--host", "127.0.0.1", "--port", port);
            assertEquals("2", r[0], r[2]);
            assertEquals(1, r[2].strip().lines().count(), r[2]);
            assertTrue(r[2].startsWith("nq serve: cannot listen on 127.0.0.1:" + port + ": "), r[2]);
        }
    }
}
