package dev.nexusquant.eval.perplexity;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Which chunks of a text a perplexity run evaluates: {@code all}, {@code dev} (chunk index % 5 == 0: for choosing
 * settings), {@code report} (index % 5 == 2: for reporting; never shares a chunk with {@code dev}), or a list of
 * indices and ranges ({@code 3,7,10-12}). {@link #select} applies it to the chunks a text has, in ascending order.
 */
public record ChunkSelection(String spec) {

    public static final int PERIOD = 5;
    public static final int DEV = 0;
    public static final int REPORT = 2;

    public ChunkSelection {
        spec = spec.trim().toLowerCase(Locale.ROOT);
        if (!spec.equals("all") && !spec.equals("dev") && !spec.equals("report")) {
            select(spec, Integer.MAX_VALUE, 0); // validates a list (each range is bounded)
        }
    }

    /**
     * The chunk indices, ascending, among {@code available} chunks starting at {@code first}, at most {@code max}
     * of them (0: no limit). IllegalArgumentException when the list names a chunk the text does not have or none is
     * left.
     */
    public int[] select(int available, int first, int max) {
        int[] c = select(spec, available, first);
        if (c.length == 0) {
            throw new IllegalArgumentException("--chunks " + spec + ": no chunk left among the text's " + available
                    + " chunks (from chunk " + first + ")");
        }
        return max > 0 && c.length > max ? java.util.Arrays.copyOf(c, max) : c;
    }

    private static int[] select(String spec, int available, int first) {
        if (first < 0) throw new IllegalArgumentException("the first chunk must be >= 0, is " + first);
        List<Integer> out = new ArrayList<>();
        switch (spec) {
            case "all" -> {
                for (int i = first; i < available && i < first + (1 << 24); i++) out.add(i);
            }
            case "dev", "report" -> {
                int rest = spec.equals("dev") ? DEV : REPORT;
                for (int i = first; i < available && i < first + (1 << 24); i++) if (i % PERIOD == rest) out.add(i);
            }
            default -> {
                TreeSet<Integer> set = new TreeSet<>();
                for (String part : spec.split(",")) {
                    String p = part.trim();
                    if (p.isEmpty()) continue;
                    try {
                        int dash = p.indexOf('-');
                        int a = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).trim());
                        int b = dash < 0 ? a : Integer.parseInt(p.substring(dash + 1).trim());
                        if (a < 0 || b < a || b - a > 1 << 20) throw new IllegalArgumentException("bad range");
                        for (int i = a; i <= b; i++) {
                            if (i >= available) {
                                throw new IllegalArgumentException("chunk " + i + " does not exist (the text has "
                                        + available + " chunks)");
                            }
                            if (i >= first) set.add(i);
                        }
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--chunks: '" + p + "' is not a chunk index or range"
                                + " (dev, report, all, or a list such as 3,7,10-12)");
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--chunks: '" + p + "': " + e.getMessage());
                    }
                }
                if (set.isEmpty() && available == Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("--chunks '" + spec + "' names no chunk");
                }
                out.addAll(set);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
