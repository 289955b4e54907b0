package dev.nexusquant.cli;

/**
 * Time since this process started, as the operating system recorded its start: with the {@code nq} launcher (which
 * execs the JVM in its own process) that is when the user ran {@code ./nq}, so the figure covers the launcher, the
 * JVM's start, class loading, the model's load and the JIT. The start is known to the operating system's resolution
 * (10 ms on Linux).
 */
final class ProcessClock {

    private ProcessClock() {
    }

    /** Seconds from this process's start to {@code epochMillis} (a wall-clock time), or NaN when the start is unknown. */
    static double secondsSinceStart(long epochMillis) {
        return ProcessHandle.current().info().startInstant()
                .map(start -> (epochMillis - start.toEpochMilli()) / 1e3)
                .orElse(Double.NaN);
    }

    /**
     * CPU time this process has used so far, all threads together (the JIT's compiler threads and the GC included), in
     * seconds, or NaN where the operating system does not tell.
     */
    static double cpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }
}
