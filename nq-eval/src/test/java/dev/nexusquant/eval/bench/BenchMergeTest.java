package dev.nexusquant.eval.bench;

import dev.nexusquant.eval.perplexity.Spread;
import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchMergeTest {

    private static final Method FP16 = new Method("fp16", "fp16", KvSpec.parse("k=fp16,v=fp16"));

    private static BenchRunner.Row row(Method m, Random r, double ppl) {
        double ratio = 1 + 30 * r.nextDouble();
        return new BenchRunner.Row(m, 16 / ratio, ratio, ppl, 100 * (ppl / 7.2 - 1),
                new Spread(r.nextDouble(), -r.nextDouble(), 3 * r.nextDouble()), r.nextDouble(), Double.NaN,
                100 * r.nextDouble(), 10 * r.nextDouble());
    }

    private static List<BenchRunner.Row> rows(long seed, List<Method> methods) {
        Random r = new Random(seed);
        List<BenchRunner.Row> out = new ArrayList<>(List.of(row(FP16, r, 7.2)));
        for (Method m : methods) out.add(row(m, r, 7.2 + r.nextDouble()));
        return out;
    }

    @Test
    void theMergeOfTheSplitRunsIsTheWholeRunWithEachCommand(@TempDir Path dir) throws IOException {
        List<Method> grid = MethodCatalog.select(List.of("grid"));
        List<BenchRunner.Row> a = rows(1, grid.subList(0, 3)), b = rows(2, grid.subList(3, grid.size()));
        b.set(0, a.get(0)); // the same reference in both parts, as a deterministic run gives
        BenchRunner.write(dir.resolve("a"), "T", "nq bench --methods fp16,grid:1-3", a);
        BenchRunner.write(dir.resolve("b"), "T", "nq bench --methods fp16,grid:4-7", b);
        List<BenchRunner.Row> whole = new ArrayList<>(a);
        whole.addAll(b.subList(1, b.size()));
        BenchRunner.write(dir.resolve("whole"), "T", "cmd", whole);

        assertEquals(grid.size() + 1, BenchMerge.merge(List.of(dir.resolve("a"), dir.resolve("b")), dir.resolve("m")));
        assertEquals(Files.readString(dir.resolve("whole/bench.csv")), Files.readString(dir.resolve("m/bench.csv")));
        String md = Files.readString(dir.resolve("m/bench.md"));
        String wholeMd = Files.readString(dir.resolve("whole/bench.md"));
        assertTrue(md.contains("- `nq bench --methods fp16,grid:1-3`\n- `nq bench --methods fp16,grid:4-7`\n"), md);
        assertEquals(wholeMd.substring(wholeMd.indexOf("| method |")), md.substring(md.indexOf("| method |")));
        assertNotNull(ImageIO.read(dir.resolve("m/tradeoff.png").toFile()));
        // a merged folder merges again with a further part, keeping every command
        List<BenchRunner.Row> c = rows(3, MethodCatalog.select(List.of("fp8")));
        c.set(0, a.get(0));
        BenchRunner.write(dir.resolve("c"), "T", "nq bench --methods fp16,fp8", c);
        assertEquals(grid.size() + 2, BenchMerge.merge(List.of(dir.resolve("m"), dir.resolve("c")), dir.resolve("m2")));
        assertTrue(Files.readString(dir.resolve("m2/bench.md")).contains("grid:4-7`\n- `nq bench --methods fp16,fp8`"));
    }

    @Test
    void partsThatAreNotOneBenchAreRefused(@TempDir Path dir) throws IOException {
        List<Method> ev = MethodCatalog.select(List.of("eviction"));
        List<BenchRunner.Row> a = rows(1, ev.subList(0, 2)), b = rows(2, ev.subList(2, 4));
        BenchRunner.write(dir.resolve("a"), "T", "x", a);
        b.set(0, row(FP16, new Random(9), 7.25)); // a reference of another perplexity
        BenchRunner.write(dir.resolve("b"), "T", "y", b);
        IOException e = assertThrows(IOException.class, () -> BenchMerge.merge(List.of(dir.resolve("a"), dir.resolve("b")), dir.resolve("m")));
        assertTrue(e.getMessage().contains("references differ"), e.getMessage());

        b.set(0, a.get(0));
        BenchRunner.write(dir.resolve("t"), "other chunks", "y", b);
        e = assertThrows(IOException.class, () -> BenchMerge.merge(List.of(dir.resolve("a"), dir.resolve("t")), dir.resolve("m")));
        assertTrue(e.getMessage().contains("not one bench"), e.getMessage());

        BenchRunner.write(dir.resolve("d"), "T", "z", a);
        e = assertThrows(IOException.class, () -> BenchMerge.merge(List.of(dir.resolve("a"), dir.resolve("d")), dir.resolve("m")));
        assertTrue(e.getMessage().contains("more than one part"), e.getMessage());

        assertThrows(IllegalArgumentException.class, () -> BenchMerge.merge(List.of(dir.resolve("a")), dir.resolve("m")));
        e = assertThrows(IOException.class, () -> BenchMerge.merge(List.of(dir.resolve("a"), dir.resolve("none")), dir.resolve("m")));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
    }
}
