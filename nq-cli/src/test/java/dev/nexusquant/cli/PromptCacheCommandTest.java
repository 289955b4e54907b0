package dev.nexusquant.cli;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.testing.RandomModel;
import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.nexusquant.cli.CliTest.assertOneLineError;
import static dev.nexusquant.cli.CliTest.field;
import static dev.nexusquant.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --prompt-cache FILE}: miss, hit, extension, and every kind of unusable file. */
class PromptCacheCommandTest {

    static final String PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play";

    static CliTest.Result gen(Path cache, String prompt, String... more) {
        String[] base = {"generate", "--model", Shared.stories260K().toString(), "--prompt", prompt, "--temperature", "0",
                "--max-tokens", "16", "--prompt-cache", cache.toString()};
        String[] args = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return run(args);
    }

    static String outcome(String json) {
        return field(json, "prompt_cache_outcome").replace("\"", "");
    }

    @Test
    void aMissSavesAHitRestoresAndALongerPromptExtends(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("p.nqs");
        CliTest.Result miss = gen(cache, PROMPT, "--json");
        assertEquals(0, miss.code(), miss.err());
        assertEquals("miss", outcome(miss.out()));
        assertTrue(Files.size(cache) > 0);
        assertEquals(Files.size(cache), Long.parseLong(field(miss.out(), "cache_bytes_on_disk")));
        int promptTokens = Integer.parseInt(field(miss.out(), "prompt_tokens"));
        assertEquals(promptTokens, Model.peek(cache).tokens().length);

        CliTest.Result hit = gen(cache, PROMPT, "--json");
        assertEquals(0, hit.code(), hit.err());
        assertEquals("hit", outcome(hit.out()));
        assertEquals(String.valueOf(promptTokens), field(hit.out(), "restored_tokens"));
        assertEquals("0", field(hit.out(), "prefilled_tokens"));
        assertEquals(field(miss.out(), "text"), field(hit.out(), "text"), "the restored session continues as the cold one");
        // and as plain generation without a cache file
        CliTest.Result plain = run("generate", "--model", Shared.stories260K().toString(), "--prompt", PROMPT,
                "--temperature", "0", "--max-tokens", "16", "--json");
        assertEquals(field(plain.out(), "text"), field(hit.out(), "text"));

        CliTest.Result longer = gen(cache, PROMPT + " in the garden with her dog", "--json");
        assertEquals(0, longer.code(), longer.err());
        assertEquals("extended", outcome(longer.out()));
        assertEquals(String.valueOf(promptTokens), field(longer.out(), "restored_tokens"));
        int longerTokens = Integer.parseInt(field(longer.out(), "prompt_tokens"));
        assertEquals(longerTokens - promptTokens, Integer.parseInt(field(longer.out(), "prefilled_tokens")));
        assertEquals(longerTokens, Model.peek(cache).tokens().length, "the file now holds the longer prompt");

        // the human-readable form reports time to first token and the three sizes
        CliTest.Result text = gen(cache, PROMPT + " in the garden with her dog");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.err().contains("hit") && text.err().contains("time to first token"), text.err());
        assertTrue(text.err().contains("bytes on disk") && text.err().contains("in memory") && text.err().contains("fp16"), text.err());
    }

    @Test
    void compressedCachesAreSavedSmallerThanTheyAreInMemory(@TempDir Path dir) {
        Path cache = dir.resolve("b.nqs");
        String prompt = (PROMPT + " with her friends. ").repeat(6);
        CliTest.Result miss = gen(cache, prompt, "--kv", "balanced", "--json");
        assertEquals(0, miss.code(), miss.err());
        long disk = Long.parseLong(field(miss.out(), "cache_bytes_on_disk"));
        long memory = Long.parseLong(field(miss.out(), "cache_kv_bytes_in_memory"));
        long fp16 = Long.parseLong(field(miss.out(), "cache_kv_fp16_bytes"));
        assertTrue(disk < memory && memory < fp16, disk + " on disk, " + memory + " in memory, " + fp16 + " fp16");
        CliTest.Result hit = gen(cache, prompt, "--kv", "balanced", "--json");
        assertEquals("hit", outcome(hit.out()), hit.err());
        assertEquals(field(miss.out(), "text"), field(hit.out(), "text"));
        // other KV settings: the file is not used, and says why
        CliTest.Result other = gen(cache, prompt, "--kv", "max", "--json");
        assertEquals(0, other.code(), other.err());
        assertEquals("rebuilt", outcome(other.out()));
        assertTrue(other.err().contains("other settings"), other.err());
    }

    @Test
    void aFileThatCouldNotBeWrittenIsRefusedBeforeThePrefill(@TempDir Path dir) throws Exception {
        // before: the prompt was prefilled and its first token printed, then the save failed naming only a temporary
        // file ("nq generate: DIR/p.nqs.123.tmp")
        Path inMissingDir = dir.resolve("absent").resolve("p.nqs");
        CliTest.Result r = gen(inMissingDir, PROMPT);
        assertOneLineError(r, inMissingDir.toString(), "cannot be written", "does not exist");
        assertTrue(r.out().isEmpty(), "nothing generated: " + r.out());
        Path aFile = dir.resolve("plain.txt");
        Files.writeString(aFile, "not a directory");
        assertOneLineError(gen(aFile.resolve("p.nqs"), PROMPT), "cannot be written", "is not a directory");
        assertTrue(Files.notExists(dir.resolve("absent")));
    }

    @Test
    void unusableFilesAreReportedAndRebuiltWhileOtherFilesAreNeverOverwritten(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("p.nqs");
        assertEquals(0, gen(cache, PROMPT).code());
        int[] tokens = Model.peek(cache).tokens();

        // another prompt
        CliTest.Result other = gen(cache, "The dog ran", "--json");
        assertEquals(0, other.code(), other.err());
        assertEquals("rebuilt", outcome(other.out()));
        assertTrue(other.err().contains("not a prefix of this prompt") && other.err().contains("overwriting"), other.err());

        // a damaged file: truncated, then a flipped bit
        assertEquals(0, gen(cache, PROMPT).code());
        byte[] good = Files.readAllBytes(cache);
        Files.write(cache, Arrays.copyOf(good, good.length / 2));
        CliTest.Result truncated = gen(cache, PROMPT, "--json");
        assertEquals(0, truncated.code(), truncated.err());
        assertEquals("rebuilt", outcome(truncated.out()));
        assertTrue(truncated.err().contains("unusable") && truncated.err().contains("TRUNCATED"), truncated.err());
        assertArrayEquals(tokens, Model.peek(cache).tokens(), "rewritten whole");
        byte[] flipped = Files.readAllBytes(cache);
        flipped[flipped.length - 10] ^= 4;
        Files.write(cache, flipped);
        CliTest.Result corrupt = gen(cache, PROMPT);
        assertEquals(0, corrupt.code(), corrupt.err());
        assertTrue(corrupt.err().contains("CORRUPT"), corrupt.err());
        assertEquals("hit", outcome(gen(cache, PROMPT, "--json").out()));

        // a session of another model
        Path foreign = dir.resolve("foreign.nqs");
        Path random = RandomModel.llama(4, 2, 16, GgmlType.F32).vocab(400).write(dir);
        assertEquals(0, run("generate", "--model", random.toString(), "--prompt", PROMPT, "--max-tokens", "2",
                "--prompt-cache", foreign.toString()).code());
        CliTest.Result fm = gen(foreign, PROMPT, "--json");
        assertEquals(0, fm.code(), fm.err());
        assertEquals("rebuilt", outcome(fm.out()));
        assertTrue(fm.err().contains("another model"), fm.err());

        // a session saved without the logits of its last token (built over a filled cache): rebuilt, not a failure
        Path noLogits = dir.resolve("no-logits.nqs");
        try (Model m = Model.load(Shared.stories260K())) {
            int[] ids = m.tokenizer().encode(PROMPT, true);
            try (var s = m.newSession()) {
                s.forward(ids, 0, ids.length, false);
                s.endOfPrompt();
                m.newSession(s.kvCache(), ids).save(noLogits);
            }
        }
        CliTest.Result nl = gen(noLogits, PROMPT, "--json");
        assertEquals(0, nl.code(), nl.err());
        assertEquals("rebuilt", outcome(nl.out()));
        assertTrue(nl.err().contains("not its last logits"), nl.err());
        assertEquals("hit", outcome(gen(noLogits, PROMPT, "--json").out()));

        // a file that is no saved session (the model itself, given by mistake): an error, and the file is untouched
        Path notASession = dir.resolve("notes.txt");
        Files.writeString(notASession, "my notes");
        assertOneLineError(gen(notASession, PROMPT), "not a saved session", "refusing to overwrite");
        assertEquals("my notes", Files.readString(notASession));
    }
}
