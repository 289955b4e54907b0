package dev.nexusquant.cli;

import dev.nexusquant.engine.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.nexusquant.cli.CliTest.assertOneLineError;
import static dev.nexusquant.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KV-cache options and the retrieval and bench commands, on stories260K (head_dim 8). */
class KvCommandsTest {

    static final String SPEC = "k=e8:2,v=e8:2,rot=on,center=kv,evict=snapkv:0.5,window=16,block=16,wprec=f16";

    @Test
    void perplexityWithACompressedCacheReportsItsRatio() {
        CliTest.Result r = run("perplexity", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--ctx", "256", "--max-chunks", "2", "--kv", SPEC, "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        double ratio = Double.parseDouble(CliTest.field(json, "kv_ratio"));
        double ppl = Double.parseDouble(CliTest.field(json, "ppl"));
        assertTrue(ratio > 3, "compressed: " + json);
        assertTrue(ppl > 3 && ppl < 8, "still a language model: " + json);
        assertTrue(json.contains("\"kv_bytes\":") && json.contains("\"kv_fp16_bytes\":") && json.contains("\"kept_tokens\":"), json);
    }

    @Test
    void perplexityProtocolsChunksAndBaseline() {
        String m = Shared.stories260K().toString(), t = Shared.tinyStoriesDev().toString();
        // the dense cache: both protocols score the same as the reference protocol, on the chunks asked for
        CliTest.Result dense = run("perplexity", "--model", m, "--text", t, "--ctx", "256", "--chunks", "0-9",
                "--protocol", "context", "--json");
        assertEquals(0, dense.code(), dense.err());
        assertEquals(3.497988, Double.parseDouble(CliTest.field(dense.out(), "ppl")), 3.497988e-3);
        // a ratio target under the context protocol: the ratio over the prompt's rows, the change against the
        // uncompressed cache on the same report chunks, per chunk and its spread
        CliTest.Result r = run("perplexity", "--model", m, "--text", t, "--ctx", "256", "--chunks", "report",
                "--max-chunks", "3", "--protocol", "context", "--baseline", "--kv",
                "k=e8:4,v=e8:3,evict=snapkv:0.5,window=8,block=8,wprec=f16,rot=on,center=kv,ratio=4", "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        assertTrue(json.contains("\"chunk_indices\":[2,7,12]"), json);
        assertEquals(4.0, Double.parseDouble(CliTest.field(json, "kv_ratio")), 0.12, json);
        for (String key : new String[]{"baseline_ppl", "change_pct", "change_median_pct", "change_min_pct",
                "change_max_pct", "per_chunk", "allocation"}) {
            assertTrue(json.contains("\"" + key + "\":"), key + " missing in " + json);
        }
        double min = Double.parseDouble(CliTest.field(json, "change_min_pct"));
        double max = Double.parseDouble(CliTest.field(json, "change_max_pct"));
        double med = Double.parseDouble(CliTest.field(json, "change_median_pct"));
        assertTrue(min <= med && med <= max, json);
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--protocol", "bogus"), "protocol");
        assertOneLineError(run("perplexity", "--model", m, "--text", t, "--chunks", "1,x"), "--chunks");
    }

    @Test
    void generateWithAPresetAndAMemoryBudget() {
        CliTest.Result r = run("generate", "--model", Shared.stories260K().toString(), "--temperature", "0",
                "--max-tokens", "40", "--kv", "balanced", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"kv_ratio\":"), r.out());
        CliTest.Result full = run("generate", "--model", Shared.stories260K().toString(), "--temperature", "0",
                "--max-tokens", "400", "--kv-memory", "8K");
        assertTrue(full.code() != 0, "a full budget ends the command with an error");
        assertEquals(1, full.err().strip().lines().count(), full.err());
        assertTrue(full.err().contains("budget"), full.err());
    }

    @Test
    void copyAndPasskeyPrintTheBaselineBesideTheCompressedCache() {
        CliTest.Result copy = run("copy", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--length", "60", "--trials", "2", "--kv", SPEC, "--json");
        assertEquals(0, copy.code(), copy.err());
        assertTrue(copy.out().contains("\"baseline\":{") && copy.out().contains("\"compressed\":{"), copy.out());
        CliTest.Result pk = run("passkey", "--model", Shared.stories260K().toString(), "--lengths", "100",
                "--depths", "0,1", "--trials", "1", "--kv", SPEC);
        assertEquals(0, pk.code(), pk.err());
        assertTrue(pk.out().contains("overall:"), pk.out());
    }

    @Test
    void benchWritesTheTableTheCsvAndThePicture(@TempDir Path dir) throws Exception {
        CliTest.Result r = run("bench", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--ctx", "128", "--chunks", "2", "--copy-length", "30",
                "--decode-tokens", "4", "--methods", "fp16", "--spec", SPEC, "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(dir.resolve("bench.md"));
        assertTrue(md.contains("| fp16 | fp16 |") && md.contains("| custom |"), md);
        assertEquals(3, Files.readAllLines(dir.resolve("bench.csv")).size(), "header + 2 rows");
        BufferedImage png = ImageIO.read(dir.resolve("tradeoff.png").toFile());
        assertNotNull(png);
        assertEquals(1100, png.getWidth());
    }

    @Test
    void benchTakesAChunkSelectionAndAProtocolAndDrawsTheFrontWithoutThePresets(@TempDir Path dir) throws Exception {
        CliTest.Result r = run("bench", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--ctx", "128", "--chunks", "report", "--max-chunks", "3",
                "--protocol", "context", "--chunk-threads", "2", "--copy-length", "30", "--copy-trials", "1",
                "--decode-tokens", "4", "--methods", "fp16,nexusquant,previous", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(dir.resolve("bench.md"));
        assertTrue(md.contains("context protocol, chunks") || md.contains("context protocol, 3 chunks"), md);
        assertTrue(md.contains("--chunks report --max-chunks 3 --protocol context"), md);
        assertTrue(md.contains("| NexusQuant fixed recipes (previous) | balanced |"), md);
        List<String> csv = Files.readAllLines(dir.resolve("bench.csv"));
        assertEquals(1 + 1 + 3 + 3, csv.size(), "header + fp16 + 3 presets + 3 previous recipes");
        // the reference against itself: every per-chunk change is exactly zero
        assertTrue(md.contains("| +0.00% | +0.00% [+0.00, +0.00] |"), md);
        assertNotNull(ImageIO.read(dir.resolve("tradeoff.png").toFile()));
        assertOneLineError(run("bench", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--chunks", "dev", "--protocol", "sideways"), "sideways");
    }

    /** A bench split by {@code --methods GROUP:I-J} over runs and put together by {@code --merge} is the bench run whole. */
    @Test
    void benchSplitBySlicesAndMergedIsTheWholeBench(@TempDir Path dir) throws Exception {
        String[] common = {"bench", "--model", Shared.stories260K().toString(), "--text", Shared.tinyStoriesDev().toString(),
                "--ctx", "128", "--chunks", "report", "--max-chunks", "2", "--protocol", "context", "--copy-length", "30",
                "--copy-trials", "1", "--decode-tokens", "4"};
        java.util.function.BiFunction<String, String, CliTest.Result> bench = (methods, out) -> {
            List<String> a = new java.util.ArrayList<>(List.of(common));
            a.addAll(List.of("--methods", methods, "--out", dir.resolve(out).toString()));
            try {
                return run(a.toArray(String[]::new));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        for (var r : List.of(bench.apply("fp16,grid:1-3", "whole"), bench.apply("fp16,grid:1", "a"),
                bench.apply("fp16,grid:2-3", "b"))) {
            assertEquals(0, r.code(), r.err());
        }
        CliTest.Result m = run("bench", "--merge", dir.resolve("a") + "," + dir.resolve("b"), "--out", dir.resolve("m").toString());
        assertEquals(0, m.code(), m.err());
        assertTrue(m.out().contains("merged 4 rows from 2 runs"), m.out());
        // every column but the timings (decode tok/s, seconds) as the whole run wrote it
        java.util.function.Function<String, List<String>> noTimes = f -> {
            try {
                return Files.readAllLines(dir.resolve(f).resolve("bench.csv")).stream()
                        .map(l -> l.replaceAll(",[0-9.]+,[0-9.]+,(-?[0-9.]+,-?[0-9.]+,-?[0-9.]+)$", ",T,T,$1")).toList();
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        };
        assertEquals(noTimes.apply("whole"), noTimes.apply("m"));
        String md = Files.readString(dir.resolve("m").resolve("bench.md"));
        assertTrue(md.contains("--methods fp16,grid:1 ") && md.contains("--methods fp16,grid:2-3 "), md);
        assertNotNull(ImageIO.read(dir.resolve("m").resolve("tradeoff.png").toFile()));
        assertOneLineError(run("bench", "--merge", dir.resolve("a") + "," + dir.resolve("whole"), "--out",
                dir.resolve("x").toString()), "more than one part");
        assertOneLineError(run("bench", "--model", Shared.stories260K().toString(), "--text",
                Shared.tinyStoriesDev().toString(), "--methods", "grid:9"), "grid:9");
    }

    /**
     * {@code basis=auto} in every command that takes a spec: the model's KLT bases are fitted once into the configured
     * basis cache and read by every later command; a prompt cache saved with it restores (the restore finds the bases).
     */
    @Test
    void autoKltBasisWorksInEveryCommand(@TempDir Path dir) throws Exception {
        String before = System.getProperty("nq.klt.cache");
        Path klt = dir.resolve("klt");
        System.setProperty("nq.klt.cache", klt.toString());
        try {
            String m = Shared.stories260K().toString(), t = Shared.tinyStoriesDev().toString();
            String auto = "max,keys=pre,rot=klt,basis=auto";
            Path saved = dir.resolve("s.nqs");
            String prompt = "Once upon a time, there was a little girl named Lily. She loved to play in the park. ".repeat(3);
            CliTest.Result miss = run("generate", "--model", m, "--prompt", prompt, "--temperature", "0", "--max-tokens", "12",
                    "--kv", auto, "--prompt-cache", saved.toString(), "--json");
            assertEquals(0, miss.code(), miss.err());
            assertTrue(CliTest.field(miss.out(), "kv_cache").contains("basis=auto"), miss.out());
            java.util.List<Path> bases;
            try (var files = Files.list(klt)) {
                bases = files.filter(p -> p.getFileName().toString().endsWith("-pre.klt")).toList();
            }
            assertEquals(1, bases.size(), "fitted once: " + bases);
            long fitted = Files.getLastModifiedTime(bases.get(0)).toMillis();
            CliTest.Result hit = run("generate", "--model", m, "--prompt", prompt, "--temperature", "0", "--max-tokens", "12",
                    "--kv", auto, "--prompt-cache", saved.toString(), "--json");
            assertEquals(0, hit.code(), hit.err());
            assertEquals("\"hit\"", CliTest.field(hit.out(), "prompt_cache_outcome"));
            assertEquals(CliTest.field(miss.out(), "text"), CliTest.field(hit.out(), "text"), "the restored session continues alike");
            CliTest.Result ppl = run("perplexity", "--model", m, "--text", t, "--ctx", "256", "--max-chunks", "1", "--kv", auto, "--json");
            assertEquals(0, ppl.code(), ppl.err());
            assertTrue(Double.parseDouble(CliTest.field(ppl.out(), "kv_ratio")) > 4, ppl.out());
            CliTest.Result copy = run("copy", "--model", m, "--text", t, "--length", "60", "--trials", "1", "--kv", auto, "--json");
            assertEquals(0, copy.code(), copy.err());
            CliTest.Result bench = run("bench", "--model", m, "--text", t, "--ctx", "128", "--chunks", "1", "--copy-length", "30",
                    "--decode-tokens", "4", "--methods", "fp16", "--spec", auto, "--out", dir.resolve("bench").toString());
            assertEquals(0, bench.code(), bench.err());
            assertTrue(Files.readString(dir.resolve("bench").resolve("bench.md")).contains("basis=auto"));
            assertEquals(fitted, Files.getLastModifiedTime(bases.get(0)).toMillis(), "read, not fitted again");
        } finally {
            if (before == null) System.clearProperty("nq.klt.cache");
            else System.setProperty("nq.klt.cache", before);
        }
    }

    @Test
    void badKvArgumentsAreOneLineErrors() {
        String m = Shared.stories260K().toString();
        assertOneLineError(run("generate", "--model", m, "--kv", "k=zip9"), "zip9");
        assertOneLineError(run("generate", "--model", m, "--kv", "evict=snapkv:2"), "keep ratio");
        assertOneLineError(run("generate", "--model", m, "--kv-memory", "lots"), "lots");
        assertOneLineError(run("copy", "--model", m, "--length", "1"), "--length");
        assertOneLineError(run("passkey", "--model", m, "--depths", "1.5"), "--depths");
        assertOneLineError(run("bench", "--model", m, "--text", "no-such-file.txt"), "no-such-file.txt");
        assertOneLineError(run("bench", "--model", m, "--text", Shared.tinyStoriesDev().toString(), "--methods", "magic"), "magic");
    }
}
