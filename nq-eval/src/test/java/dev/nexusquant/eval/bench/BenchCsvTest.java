package dev.nexusquant.eval.bench;

import dev.nexusquant.eval.perplexity.Spread;
import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchCsvTest {

    @Test
    void fieldsWithCommasAndQuotesSurviveTheCsv() {
        List<String> fields = List.of("NexusQuant grid", "K4V4 young, K2V2 old", "k=e8:4,v=\"x\"", "", "1.5");
        String line = String.join(",", fields.stream().map(BenchRunner::csvField).toList());
        assertEquals(fields, BenchRunner.parseCsvLine(line));
    }

    @Test
    void replotDrawsThePictureAgainFromTheWrittenTable(@TempDir Path dir) throws IOException {
        Method fp16 = new Method("fp16", "fp16", KvSpec.parse("k=fp16,v=fp16"));
        Method grid = new Method("NexusQuant grid", "K4V4 young, K2V2 old", KvSpec.parse("k=e8:4,v=e8:4,age=128,ak=e8:2,av=e8:2"));
        var rows = List.of(new BenchRunner.Row(fp16, 16, 1, 7.2, 0, new Spread(0, 0, 0), 0.75, Double.NaN, 100, 1),
                new BenchRunner.Row(grid, 2.9, 5.5, 7.4, 2.8, new Spread(2.5, 0.4, 6.1), 0.72, Double.NaN, 110, 1));
        BenchRunner.write(dir, "title", "cmd", rows);
        Files.delete(dir.resolve("tradeoff.png"));
        assertEquals(2, BenchRunner.replot(dir));
        assertNotNull(ImageIO.read(dir.resolve("tradeoff.png").toFile()));
        assertTrue(Files.readString(dir.resolve("bench.csv")).contains("\"K4V4 young, K2V2 old\""));
        assertTrue(Files.readString(dir.resolve("bench.md")).contains("| +2.80% | +2.50% [+0.40, +6.10] |"));
    }

    @Test
    void replotOfAMalformedTableNamesTheLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("bench.md"), "# t\n");
        Files.writeString(dir.resolve("bench.csv"), "header\nfp16,fp16,spec,16,1,7.2\n");
        IOException e = assertThrows(IOException.class, () -> BenchRunner.replot(dir));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }
}
