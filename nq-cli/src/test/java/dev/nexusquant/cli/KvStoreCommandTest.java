package dev.nexusquant.cli;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import static dev.nexusquant.cli.CliTest.assertOneLineError;
import static dev.nexusquant.cli.CliTest.field;
import static dev.nexusquant.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --kv-store STORE}: a prompt's chunks stored, then restored, the text unchanged; bad stores. */
class KvStoreCommandTest {

    @TempDir
    static Path modelDir;
    static String model;
    /** Enough text for several 256-token chunks with the random model's small vocabulary. */
    static final String PROMPT = "the quick brown fox jumps over the lazy dog; ".repeat(40);

    @BeforeAll
    static void writeModel() throws Exception {
        model = RandomModel.llama(4, 2, 32, GgmlType.Q8_0).context(2048).seed(3).write(modelDir).toString();
    }

    static CliTest.Result gen(String... more) {
        String[] base = {"generate", "--model", model, "--prompt", PROMPT, "--temperature", "0", "--max-tokens", "12", "--kv", "balanced"};
        String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return run(args);
    }

    @Test
    void chunksAreStoredThenRestoredAndTheTextIsThePlainOne(@TempDir Path dir) {
        String store = "dir:" + dir.resolve("store");
        CliTest.Result plain = gen("--json");
        assertEquals(0, plain.code(), plain.err());
        int promptTokens = Integer.parseInt(field(plain.out(), "prompt_tokens"));
        assertTrue(promptTokens > 512, "prompt of " + promptTokens + " tokens");

        CliTest.Result first = gen("--kv-store", store, "--json");
        assertEquals(0, first.code(), first.err());
        assertEquals("0", field(first.out(), "store_hits"));
        assertEquals(String.valueOf(promptTokens / 256), field(first.out(), "store_chunks_written"));
        assertEquals(field(plain.out(), "text"), field(first.out(), "text"));

        CliTest.Result second = gen("--kv-store", store, "--json");
        assertEquals(0, second.code(), second.err());
        int chunks = (promptTokens - 1) / 256;
        assertEquals(String.valueOf(chunks), field(second.out(), "store_hits"));
        assertEquals(String.valueOf(chunks * 256), field(second.out(), "restored_tokens"));
        assertEquals(field(plain.out(), "text"), field(second.out(), "text"), "restored prefix, same text");

        CliTest.Result text = gen("--kv-store", store);
        assertEquals(0, text.code(), text.err());
        assertTrue(text.err().contains(chunks + " hits") && text.err().contains("time to first token"), text.err());
    }

    @Test
    void badStoresAreClearErrors() {
        assertOneLineError(gen("--kv-store", "memcached://h:1"), "bad KV store spec", "expected dir:PATH or redis[s]://[USER[:PASSWORD]@]HOST:PORT");
        assertOneLineError(gen("--kv-store", "redis://h:99999"), "outside 1..65535");
        assertOneLineError(gen("--kv-store", "dir:/tmp/x", "--prompt-cache", "/tmp/y"), "not both");
        assertOneLineError(gen("--kv-store", "dir:/tmp/x", "--kv-store-max", "lots"), "not a size");
    }

    /** Nobody listening: the prompt is prefilled, the failure named on stderr, exit 0, the same text. */
    @Test
    void anUnreachableRedisFallsBackToPrefill() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        CliTest.Result r = gen("--kv-store", "redis://127.0.0.1:" + port, "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("unavailable"), r.err());
        assertEquals(field(gen("--json").out(), "text"), field(r.out(), "text"));
    }
}
