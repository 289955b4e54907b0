package dev.nexusquant.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Whether the standard streams are terminals. */
final class Terminal {

    private Terminal() {
    }

    /** True when stderr is a terminal (Linux: /proc/self/fd/2 points at a tty; elsewhere: the JVM's console). */
    static boolean stderrIsTerminal() {
        if (Boolean.getBoolean("nq.noProgress")) return false;
        try {
            Path fd2 = Path.of("/proc/self/fd/2");
            if (Files.exists(fd2)) {
                String target = Files.readSymbolicLink(fd2).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            }
        } catch (Exception ignored) {
            // fall through
        }
        var console = System.console();
        return console != null && console.isTerminal();
    }
}
