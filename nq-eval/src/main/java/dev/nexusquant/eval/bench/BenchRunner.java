package dev.nexusquant.eval.bench;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.eval.perplexity.ChunkedPerplexity;
import dev.nexusquant.eval.perplexity.Protocol;
import dev.nexusquant.eval.perplexity.Spread;
import dev.nexusquant.eval.report.TradeoffChart;
import dev.nexusquant.eval.retrieval.CopyTask;
import dev.nexusquant.eval.retrieval.PasskeyTask;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs every method on the same model, text, chunks, copy passages and passkey prompts, and writes the table
 * (Markdown and CSV) and the trade-off picture (PNG). The first method is the reference the changes are measured
 * against (normally dense fp16). Perplexity follows one of the two protocols of {@code nq perplexity}
 * ({@link Protocol}): the first half of every chunk is the prompt, the second half is scored; the change is given over
 * all chunks and per chunk (median, smallest, largest) against the reference on the same chunk.
 */
public final class BenchRunner {

    /**
     * What to run.
     *
     * @param chunks       the chunk indices scored, ascending (see {@code ChunkSelection})
     * @param chunkThreads chunks evaluated at once (results do not depend on it)
     */
    public record Options(int ctx, int[] chunks, Protocol protocol, int chunkThreads, int copyLength, int copyTrials,
                          boolean passkey, int passkeyTrials, int decodeTokens) {
        public Options {
            if (chunks.length == 0) throw new IllegalArgumentException("no chunk to score");
            chunks = chunks.clone();
        }
    }

    /**
     * One line of the table.
     *
     * @param changeSpread per-chunk perplexity change in % against the reference on the same chunk
     */
    public record Row(Method method, double bitsPerValue, double ratio, double ppl, double changePercent,
                      Spread changeSpread, double copyAccuracy, double passkeyAccuracy, double decodeTokensPerSecond,
                      double seconds) {
    }

    /** Receives progress: method index, method count, what is running. */
    public interface Progress {
        void update(int done, int total, String what);
    }

    /** The first line of bench.csv. */
    static final String CSV_HEADER = "family,label,spec,bits_per_value,ratio,ppl,change_percent,copy_accuracy,"
            + "passkey_accuracy,decode_tokens_per_second,seconds,change_median,change_min,change_max\n";

    private BenchRunner() {
    }

    public static List<Row> run(Model model, int[] tokens, List<Method> methods, Options o, Progress progress) {
        List<Row> rows = new ArrayList<>();
        int[][] passages = CopyTask.passages(tokens, o.copyLength(), o.copyTrials());
        int ctx = o.ctx();
        int[] lengths = {ctx / 2, ctx - 16};
        double[] depths = {0.1, 0.5, 0.9};
        ChunkedPerplexity.Result reference = null;
        boolean passkeyMeaningful = o.passkey();
        for (int i = 0; i < methods.size(); i++) {
            Method m = methods.get(i);
            KvCacheFactory f = m.factory() == null ? model.kvCacheFactory() : m.factory();
            long t0 = System.nanoTime();
            progress.update(i, methods.size(), m.family() + " " + m.label() + ": perplexity");
            ChunkedPerplexity.Result p = ChunkedPerplexity.evaluate(model, tokens, ctx, o.chunks(), f, o.protocol(),
                    (a, b, c) -> { }, o.chunkThreads());
            if (i == 0) reference = p;
            progress.update(i, methods.size(), m.family() + " " + m.label() + ": copy");
            CopyTask.Result copy = CopyTask.run(model, f, passages);
            double pk = Double.NaN;
            if (passkeyMeaningful) {
                progress.update(i, methods.size(), m.family() + " " + m.label() + ": passkey");
                pk = PasskeyTask.run(model, f, lengths, depths, o.passkeyTrials(), 7).accuracy();
                if (i == 0 && pk < 0.5) passkeyMeaningful = false; // the reference itself cannot do it
            }
            progress.update(i, methods.size(), m.family() + " " + m.label() + ": decode speed");
            double tps = decodeSpeed(model, f, tokens, ctx, o.decodeTokens());
            double ratio = p.ratio();
            rows.add(new Row(m, 16.0 / ratio, ratio, p.ppl(), 100.0 * (p.ppl() / reference.ppl() - 1),
                    Spread.of(p.changesAgainst(reference)), copy.accuracy(), pk, tps, (System.nanoTime() - t0) / 1e9));
        }
        progress.update(methods.size(), methods.size(), "done");
        return rows;
    }

    /** Decode tokens/s after a prompt of ctx/2 tokens of the text: one token per step, teacher-forced. */
    static double decodeSpeed(Model model, KvCacheFactory f, int[] tokens, int ctx, int n) {
        int prompt = ctx / 2;
        n = Math.min(n, ctx - prompt - 1);
        try (Session s = model.newSession(f)) {
            s.forward(tokens, 0, prompt, false);
            s.endOfPrompt();
            s.forward(tokens, prompt, 2, false); // warm the path
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) s.forward(tokens, prompt + 2 + i, 1, false);
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** Writes bench.md, bench.csv and tradeoff.png into {@code dir}; returns the Markdown. */
    public static String write(Path dir, String title, String command, List<Row> rows) throws IOException {
        Files.createDirectories(dir);
        StringBuilder md = new StringBuilder();
        md.append("# ").append(title).append("\n\nCommand: `").append(command).append("`\n\n");
        md.append("| method | settings | bits/value | ratio vs fp16 | perplexity | change | per chunk: median [min, max] | copy top-1 | passkey | decode tok/s |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        StringBuilder csv = new StringBuilder(CSV_HEADER);
        List<TradeoffChart.Point> points = new ArrayList<>();
        for (Row r : rows) {
            String spec = r.method().factory() == null ? "dense fp32" : r.method().factory().describe();
            Spread sp = r.changeSpread();
            md.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.2fx | %.4f | %+.2f%% | %+.2f%% [%+.2f, %+.2f] | %.3f | %s | %.1f |%n",
                    r.method().family(), r.method().label(), r.bitsPerValue(), r.ratio(), r.ppl(), r.changePercent(),
                    sp.median(), sp.min(), sp.max(), r.copyAccuracy(), Double.isNaN(r.passkeyAccuracy()) ? "n/a" : String.format(Locale.ROOT, "%.2f", r.passkeyAccuracy()),
                    r.decodeTokensPerSecond()));
            csv.append(String.format(Locale.ROOT, "%s,%s,%s,%.4f,%.4f,%.6f,%.4f,%.4f,%s,%.2f,%.1f,%.4f,%.4f,%.4f%n",
                    csvField(r.method().family()), csvField(r.method().label()), csvField(spec), r.bitsPerValue(), r.ratio(), r.ppl(),
                    r.changePercent(), r.copyAccuracy(), Double.isNaN(r.passkeyAccuracy()) ? "" : String.format(Locale.ROOT, "%.4f", r.passkeyAccuracy()),
                    r.decodeTokensPerSecond(), r.seconds(), sp.median(), sp.min(), sp.max()));
            points.add(new TradeoffChart.Point(r.method().family(), r.method().label(), r.ratio(), r.changePercent()));
        }
        md.append("\nSettings (`--kv` specs):\n\n");
        for (Row r : rows) {
            md.append("- ").append(r.method().family()).append(" ").append(r.method().label()).append(": `")
                    .append(r.method().factory() == null ? "none" : r.method().factory().describe()).append("`\n");
        }
        Files.writeString(dir.resolve("bench.md"), md.toString());
        Files.writeString(dir.resolve("bench.csv"), csv.toString());
        writeChart(dir, title, rows.get(0).method().label(), points);
        return md.toString();
    }

    private static void writeChart(Path dir, String title, String reference, List<TradeoffChart.Point> points)
            throws IOException {
        TradeoffChart.write(title, "perplexity change vs " + reference + "; dashed: Pareto front",
                points, dir.resolve("tradeoff.png"), 1100, 700);
    }

    /**
     * Draws tradeoff.png again from the bench.csv and bench.md that {@link #write} left in {@code dir} (for a new
     * version of the picture without running the methods again). Returns the number of points drawn.
     */
    public static int replot(Path dir) throws IOException {
        Path csvFile = dir.resolve("bench.csv"), mdFile = dir.resolve("bench.md");
        if (!Files.isRegularFile(csvFile) || !Files.isRegularFile(mdFile)) {
            throw new IOException("--replot needs bench.csv and bench.md in " + dir);
        }
        List<String> lines = Files.readAllLines(csvFile);
        List<String> md = Files.readAllLines(mdFile);
        String title = md.isEmpty() || !md.getFirst().startsWith("# ") ? dir.getFileName().toString() : md.getFirst().substring(2);
        List<TradeoffChart.Point> points = new ArrayList<>();
        String reference = null;
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            List<String> f = parseCsvLine(lines.get(i));
            if (f.size() != 11 && f.size() != 14) { // 11: files written before the per-chunk spread
                throw new IOException(csvFile + " line " + (i + 1) + ": expected 14 (or 11) fields, found " + f.size());
            }
            try {
                points.add(new TradeoffChart.Point(f.get(0), f.get(1), Double.parseDouble(f.get(4)), Double.parseDouble(f.get(6))));
            } catch (NumberFormatException e) {
                throw new IOException(csvFile + " line " + (i + 1) + ": not a number: " + e.getMessage());
            }
            if (reference == null) reference = f.get(1);
        }
        if (points.isEmpty()) throw new IOException(csvFile + " holds no rows");
        writeChart(dir, title, reference, points);
        return points.size();
    }

    static String csvField(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** Splits one CSV line (RFC 4180 quoting: fields in double quotes, a quote inside doubled). */
    static List<String> parseCsvLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
