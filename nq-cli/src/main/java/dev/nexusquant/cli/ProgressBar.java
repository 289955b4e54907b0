package dev.nexusquant.cli;

import java.io.PrintWriter;

/** A one-line progress bar redrawn in place on stderr ({@code \r}); silent when disabled. */
final class ProgressBar {

    private final PrintWriter err;
    private final boolean enabled;
    private final String label;
    private final long start = System.nanoTime();

    ProgressBar(PrintWriter err, boolean enabled, String label) {
        this.err = err;
        this.enabled = enabled;
        this.label = label;
    }

    void update(int done, int total, String extra) {
        if (!enabled) return;
        int width = 30;
        int filled = total == 0 ? width : (int) ((long) width * done / total);
        double secs = (System.nanoTime() - start) / 1e9;
        double eta = done == 0 ? 0 : secs * (total - done) / done;
        err.printf("\r%s [%s%s] %d/%d %s  %.0fs elapsed, %.0fs left ", label, "#".repeat(filled), ".".repeat(width - filled),
                done, total, extra, secs, eta);
        err.flush();
    }

    void finish() {
        if (!enabled) return;
        err.print("\r\033[K");
        err.flush();
    }
}
