package dev.nexusquant.eval.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Puts the folders of several {@code nq bench} runs of one bench (same model, text, chunks and protocol; the methods
 * split over processes, e.g. with {@code --methods fp16,grid:1-4}) into one folder, as if one run had made it. Every
 * part must begin with the same reference row (its perplexity to the digit written), since each part's changes were
 * measured against its own reference; the reference is written once, every other row once, verbatim (Markdown, CSV
 * and settings lines as the parts wrote them), and the header lists each part's command. Anything that would make the
 * merged table mean something other than one run (other titles, other references, a method twice) is refused.
 */
public final class BenchMerge {

    private BenchMerge() {
    }

    /** One part as written: title, its command lines, and per row its CSV line, Markdown row and settings line. */
    record Part(Path dir, String title, List<String> commands, List<String> csv, List<String> md, List<String> settings) {
    }

    /** Merges {@code parts} into {@code out} (bench.md, bench.csv, tradeoff.png); returns the number of rows. */
    public static int merge(List<Path> parts, Path out) throws IOException {
        if (parts.size() < 2) throw new IllegalArgumentException("--merge needs at least two folders, got " + parts.size());
        List<Part> read = new ArrayList<>();
        for (Path p : parts) read.add(read(p));
        Part first = read.getFirst();
        List<String> refFields = BenchRunner.parseCsvLine(first.csv().getFirst());
        Set<String> seen = new HashSet<>();
        seen.add(key(refFields));
        List<String> csv = new ArrayList<>(List.of(first.csv().getFirst()));
        List<String> md = new ArrayList<>(List.of(first.md().getFirst()));
        List<String> settings = new ArrayList<>(List.of(first.settings().getFirst()));
        for (Part p : read) {
            if (!p.title().equals(first.title())) {
                throw new IOException("the parts are not one bench: " + p.dir() + " is '" + p.title() + "', "
                        + first.dir() + " is '" + first.title() + "'");
            }
            List<String> ref = BenchRunner.parseCsvLine(p.csv().getFirst());
            if (!key(ref).equals(key(refFields)) || !ref.get(5).equals(refFields.get(5))) {
                throw new IOException("the parts' references differ: " + key(ref) + " perplexity " + ref.get(5) + " in "
                        + p.dir() + ", " + key(refFields) + " perplexity " + refFields.get(5) + " in " + first.dir());
            }
            for (int i = 1; i < p.csv().size(); i++) {
                String k = key(BenchRunner.parseCsvLine(p.csv().get(i)));
                if (!seen.add(k)) throw new IOException("method '" + k + "' is in more than one part (again in " + p.dir() + ")");
                csv.add(p.csv().get(i));
                md.add(p.md().get(i));
                settings.add(p.settings().get(i));
            }
        }
        Files.createDirectories(out);
        StringBuilder m = new StringBuilder();
        m.append("# ").append(first.title()).append("\n\n");
        m.append("Merged with `nq bench --merge` from ").append(read.size()).append(" runs on the same model, text, chunks")
                .append(" and protocol. Each began with the reference (").append(refFields.get(0)).append(' ')
                .append(refFields.get(1)).append("), which gave perplexity ").append(refFields.get(5))
                .append(" in every run; each row comes from the run whose `--methods` names it:\n\n");
        for (Part p : read) {
            for (String c : p.commands()) m.append("- `").append(c).append("`\n");
        }
        m.append("\n| method | settings | bits/value | ratio vs fp16 | perplexity | change | per chunk: median [min, max] | copy top-1 | passkey | decode tok/s |\n");
        m.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String r : md) m.append(r).append('\n');
        m.append("\nSettings (`--kv` specs):\n\n");
        for (String s : settings) m.append(s).append('\n');
        Files.writeString(out.resolve("bench.md"), m.toString());
        StringBuilder c = new StringBuilder(BenchRunner.CSV_HEADER);
        for (String r : csv) c.append(r).append('\n');
        Files.writeString(out.resolve("bench.csv"), c.toString());
        BenchRunner.replot(out);
        return csv.size();
    }

    private static String key(List<String> csvFields) {
        return csvFields.get(0) + " " + csvFields.get(1);
    }

    /** Reads a folder that {@link BenchRunner#write} (or this class) wrote. */
    static Part read(Path dir) throws IOException {
        Path csvFile = dir.resolve("bench.csv"), mdFile = dir.resolve("bench.md");
        if (!Files.isRegularFile(csvFile) || !Files.isRegularFile(mdFile)) {
            throw new IOException("--merge needs bench.csv and bench.md in " + dir);
        }
        List<String> csv = Files.readAllLines(csvFile).stream().skip(1).filter(l -> !l.isBlank()).toList();
        for (String l : csv) {
            if (BenchRunner.parseCsvLine(l).size() != 14) {
                throw new IOException(csvFile + ": expected 14 fields per line (a file of the per-chunk spread's time): " + l);
            }
        }
        List<String> lines = Files.readAllLines(mdFile);
        if (lines.isEmpty() || !lines.getFirst().startsWith("# ")) throw new IOException(mdFile + ": no title line");
        List<String> commands = new ArrayList<>(), md = new ArrayList<>(), settings = new ArrayList<>();
        boolean inTable = false, inSettings = false;
        for (String l : lines) {
            if (l.startsWith("Command: `") && l.endsWith("`")) {
                commands.add(l.substring("Command: `".length(), l.length() - 1));
            } else if (l.startsWith("- `") && l.endsWith("`") && !inSettings) {
                commands.add(l.substring(3, l.length() - 1)); // a merged part: its commands
            } else if (l.startsWith("|---")) {
                inTable = true;
            } else if (inTable && l.startsWith("| ")) {
                md.add(l);
            } else if (l.startsWith("Settings (")) {
                inTable = false;
                inSettings = true;
            } else if (inSettings && l.startsWith("- ")) {
                settings.add(l);
            }
        }
        if (commands.isEmpty()) throw new IOException(mdFile + ": no 'Command:' line");
        if (md.size() != csv.size() || settings.size() != csv.size()) {
            throw new IOException(dir + ": bench.csv has " + csv.size() + " rows, bench.md " + md.size()
                    + " table rows and " + settings.size() + " settings lines");
        }
        if (csv.isEmpty()) throw new IOException(csvFile + " holds no rows");
        return new Part(dir, lines.getFirst().substring(2), commands, csv, md, settings);
    }
}
