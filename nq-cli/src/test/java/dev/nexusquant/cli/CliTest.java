package dev.nexusquant.cli;

import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The commands through {@link Main#run}, as a user calls them: outputs, and one-line errors with exit code 2. */
class CliTest {

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    static void assertOneLineError(Result r, String... fragments) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line expected: " + err);
        assertTrue(err.startsWith("nq "), err);
        for (String f : fragments) assertTrue(err.contains(f), "'" + f + "' not in: " + err);
    }

    @Test
    void greedyGenerationStreamsTheReferenceStory() {
        String model = Shared.stories260K().toString();
        Result r = run("generate", "--model", model, "--temperature", "0", "--max-tokens", "30");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time, there was a little girl named Lily."), r.out());
    }

    @Test
    void generateJsonReportsSpeeds() {
        String model = Shared.stories260K().toString();
        Result r = run("generate", "--model", model, "--prompt", "Once upon a time", "--temperature", "0.8",
                "--seed", "42", "--max-tokens", "20", "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        assertEquals(1, json.lines().count());
        assertTrue(json.contains("\"prefill_tokens_per_second\":") && json.contains("\"decode_tokens_per_second\":"), json);
        assertTrue(json.contains("\"generated_tokens\":20"), json);
        // the cold-start breakdown: the model's load and the CPU the whole process had used at the first token (this
        // JVM ran other tests before: more than this command's own, but never less than the load took on this thread)
        double load = Double.parseDouble(field(json, "model_load_seconds"));
        double cpu = Double.parseDouble(field(json, "process_cpu_seconds_at_first_token"));
        assertTrue(load > 0 && load < 60, json);
        assertTrue(cpu > 0, json);
        // same seed, same text
        Result again = run("generate", "--model", model, "--prompt", "Once upon a time", "--temperature", "0.8",
                "--seed", "42", "--max-tokens", "20", "--json");
        assertEquals(field(json, "text"), field(again.out(), "text"));
    }

    @Test
    void perplexityJsonMatchesTheReference() {
        Result r = run("perplexity", "--model", Shared.stories260K().toString(), "--text", Shared.tinyStoriesDev().toString(),
                "--ctx", "256", "--max-chunks", "10", "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        for (String key : new String[]{"ppl", "nll_per_token", "n_ctx", "chunks", "scored_tokens", "tokens_per_second",
                "kv_bytes", "kv_fp16_bytes", "kv_ratio", "kept_tokens"}) {
            assertTrue(json.contains("\"" + key + "\":"), key + " missing in " + json);
        }
        assertEquals(3.497988, Double.parseDouble(field(json, "ppl")), 3.497988e-3);
        assertEquals("1270", field(json, "scored_tokens"));
        assertTrue(r.err().isEmpty(), "no progress bar with --json: " + r.err());
    }

    @Test
    void infoDescribesTheModel() {
        Result r = run("info", "--model", Shared.nqRef27m().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("llama"), r.out());
        assertTrue(r.out().contains("head_dim 64"), r.out());
        assertTrue(r.out().contains("F16"), r.out());
        assertTrue(r.out().contains("4,096 bytes fp16"), r.out());
    }

    @Test
    void missingFilesAreOneLineErrors(@TempDir Path dir) {
        assertOneLineError(run("generate", "--model", dir.resolve("nope.gguf").toString()), "nope.gguf");
        assertOneLineError(run("perplexity", "--model", Shared.stories260K().toString(), "--text", dir.resolve("none.txt").toString()),
                "none.txt");
    }

    @Test
    void directoriesGivenAsFilesAreOneLineErrorsSayingSo(@TempDir Path dir) {
        // before: a directory as --model read "No such device", as --text or --prompt-file "no such ... file", and as
        // --input it was counted in rows first
        String m = Shared.stories260K().toString(), d = dir.toString();
        assertOneLineError(run("generate", "--model", d), d, "is a directory, not a model file");
        assertOneLineError(run("info", "--model", d), d, "is a directory, not a model file");
        assertOneLineError(run("perplexity", "--model", m, "--text", d), d, "is a directory, not a text file");
        assertOneLineError(run("bench", "--model", m, "--text", d, "--out", dir.resolve("o").toString()), d,
                "is a directory, not a text file");
        assertOneLineError(run("generate", "--model", m, "--prompt-file", d), d, "is a directory, not a prompt file");
        assertOneLineError(run("codec", "--dim", "128", "--bits", "2", "--tokens", "16", "--input", d), d,
                "is a directory, not a file of float32 rows");
        assertOneLineError(run("generate", "--model", dir.resolve("none.gguf").toString()), "none.gguf", "no such model file");
        assertOneLineError(run("codec", "--dim", "128", "--bits", "2", "--input", dir.resolve("x.f32").toString()),
                "x.f32", "no such file of float32 rows");
    }

    @Test
    void noModelAndNoDefaultIsAOneLineError(@TempDir Path dir) {
        String old = System.getProperty("nq.home");
        System.setProperty("nq.home", dir.toString());
        try {
            assertOneLineError(run("generate", "--prompt", "hi"), "--model");
        } finally {
            if (old == null) System.clearProperty("nq.home");
            else System.setProperty("nq.home", old);
        }
    }

    @Test
    void badModelFilesAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path garbage = dir.resolve("garbage.gguf");
        Files.writeString(garbage, "this is not a model at all");
        assertOneLineError(run("info", "--model", garbage.toString()), "magic");
        Path truncated = dir.resolve("truncated.gguf");
        byte[] real = Files.readAllBytes(Shared.stories260K());
        Files.write(truncated, java.util.Arrays.copyOf(real, real.length / 2));
        assertOneLineError(run("info", "--model", truncated.toString()), "past the end of the file");
    }

    @Test
    void nonUtf8TextIsAOneLineError(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("latin1.txt");
        Files.write(bad, new byte[]{'c', 'a', 'f', (byte) 0xE9, ' ', 'o', 'k'});
        assertOneLineError(run("perplexity", "--model", Shared.stories260K().toString(), "--text", bad.toString()),
                "not valid UTF-8", "offset 3");
    }

    @Test
    void promptLongerThanTheContextIsAOneLineError() {
        String prompt = "Once upon a time ".repeat(600); // BOS + 2,401 tokens; the file declares a context of 2048
        assertOneLineError(run("generate", "--model", Shared.stories260K().toString(), "--prompt", prompt), "2402 tokens", "context of 2048");
    }

    @Test
    void anAbsurdThreadCountIsAOneLineErrorBeforeAnythingRuns() {
        // before: -Dnq.threads=100000 (through NQ_JAVA_OPTS) was an ExceptionInInitializerError's stack trace
        String old = System.getProperty("nq.threads");
        try {
            for (String v : new String[]{"100000", "0", "many"}) {
                System.setProperty("nq.threads", v);
                CliTest.Result r = run("generate", "--model", Shared.stories260K().toString(), "--prompt", "hi");
                assertEquals(2, r.code(), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().startsWith("nq: -Dnq.threads must be") && r.err().contains(v) && r.err().contains("NQ_JAVA_OPTS"), r.err());
                assertTrue(r.out().isEmpty(), r.out());
            }
        } finally {
            if (old == null) System.clearProperty("nq.threads");
            else System.setProperty("nq.threads", old);
        }
    }

    @Test
    void aPromptFarBeyondTheContextIsRefusedBeforeItIsEncoded(@TempDir Path dir) throws Exception {
        // before: the whole text was encoded first (a 31 MB prompt file ran over 300 s and 5 GB)
        Path file = dir.resolve("long.txt");
        Files.writeString(file, "Once upon a time ".repeat(200_000)); // 3.4 MB
        Result r = run("generate", "--model", Shared.stories260K().toString(), "--prompt-file", file.toString());
        assertOneLineError(r, "the prompt is at least", "3400000 characters, not encoded", "context of 2048");
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.nexusquant.engine.model.PromptTooLongException.class, () -> {
            try (var m = dev.nexusquant.engine.model.Model.load(Shared.stories260K())) {
                m.generate("Once upon a time ".repeat(200_000), dev.nexusquant.engine.model.GenerationOptions.greedy(1), (id, t) -> { });
            }
        });
        assertTrue(e.tokens() > 2048 && e.contextLength() == 2048, e.getMessage());
    }

    @Test
    void absurdNumbersAreOneLineErrors() {
        String m = Shared.stories260K().toString(), t = Shared.tinyStoriesDev().toString();
        assertOneLineError(run("generate", "--model", m, "--max-tokens", "-1"), "max tokens");
        assertOneLineError(run("generate", "--model", m, "--temperature", "-2"), "temperature");
        assertOneLineError(run("generate", "--model", m, "--top-p", "1.5"), "top-p");
        assertOneLineError(run("generate", "--model", m, "--max-tokens", "lots"), "lots");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--ctx", "3"), "--ctx");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--ctx", "99999999"), "--ctx");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--ctx", "4096"), "context length 2048");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--max-chunks", "-3"), "--max-chunks");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--bogus"), "bogus");
    }

    static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(\"(?:[^\"\\\\]|\\\\.)*\"|[^,}]*)").matcher(json);
        assertTrue(m.find(), key + " not in " + json);
        return m.group(1);
    }

    @Test
    void noArgumentsListTheCommandsAndErrorsNameTheCommandOnce() {
        Result r = run();
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: nq") && r.out().contains("generate") && r.out().contains("passkey"), r.out());
        Result bad = run("bogus");
        assertEquals(2, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().startsWith("nq: ") && bad.err().contains("bogus") && !bad.err().contains("nq nq"), bad.err());
    }

    @Test
    void helpTextsFormatWithoutWarnings() {
        for (String cmd : new String[]{"generate", "perplexity", "copy", "passkey", "bench", "codec", "info"}) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            java.io.PrintStream saved = System.err;
            java.io.ByteArrayOutputStream picocliWarnings = new java.io.ByteArrayOutputStream();
            System.setErr(new java.io.PrintStream(picocliWarnings, true, java.nio.charset.StandardCharsets.UTF_8));
            try {
                assertEquals(0, Main.run(new PrintWriter(out), new PrintWriter(err), cmd, "--help"), cmd);
            } finally {
                System.setErr(saved);
            }
            String all = out + err.toString() + picocliWarnings;
            assertTrue(!all.contains("WARN") && !all.contains("Could not format"), cmd + ": " + all);
        }
        String passkeyHelp = run("passkey", "--help").out().replaceAll("\\s+", " ");
        assertTrue(passkeyHelp.contains("25%, 50% and 100% of the context"), passkeyHelp);
    }

    @Test
    void promptFileAndStandardInputGiveTheSameTextAsPrompt(@TempDir Path dir) throws Exception {
        String m = Shared.stories260K().toString();
        String prompt = "Once upon a time, a dog";
        Result direct = run("generate", "--model", m, "--prompt", prompt, "--temperature", "0", "--max-tokens", "12");
        assertEquals(0, direct.code(), direct.err());
        Path f = dir.resolve("prompt.txt");
        Files.writeString(f, prompt);
        Result fromFile = run("generate", "--model", m, "--prompt-file", f.toString(), "--temperature", "0", "--max-tokens", "12");
        assertEquals(direct.out(), fromFile.out());
        java.io.InputStream saved = System.in;
        System.setIn(new java.io.ByteArrayInputStream(prompt.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        try {
            Result fromStdin = run("generate", "--model", m, "--prompt-file", "-", "--temperature", "0", "--max-tokens", "12");
            assertEquals(direct.out(), fromStdin.out());
        } finally {
            System.setIn(saved);
        }
        assertOneLineError(run("generate", "--model", m, "--prompt", "x", "--prompt-file", f.toString()), "not both");
        assertOneLineError(run("generate", "--model", m, "--prompt-file", dir.resolve("absent.txt").toString()), "absent.txt");
        Path bad = dir.resolve("latin1.txt");
        Files.write(bad, new byte[]{'c', 'a', 'f', (byte) 0xE9});
        assertOneLineError(run("generate", "--model", m, "--prompt-file", bad.toString()), "UTF-8");
    }
}
