package dev.nexusquant.engine.tensor;

/**
 * The number of threads the engine spreads work over: {@code -Dnq.threads=N}, or the number of cores. A value that is
 * not a whole number in 1..{@link #max} is an {@link IllegalArgumentException} naming it, never a silent default:
 * each thread past the first is a worker that spins after every product ({@link SpinningWorkers}), so a typo such as
 * 100000 would start that many threads (and the fork/join pool refuses more than 32,767).
 */
public final class ThreadCount {

    /** The property. */
    public static final String PROPERTY = "nq.threads";

    private ThreadCount() {
    }

    /** The most threads accepted on a machine of {@code cores} cores: 256, or the core count when larger. */
    public static int max(int cores) {
        return Math.max(256, cores);
    }

    /** The thread count {@code value} (the property's text, or null when unset) asks for on {@code cores} cores. */
    public static int parse(String value, int cores) {
        return parse(PROPERTY, value, cores);
    }

    /**
     * As {@link #parse(String, int)}, for another property that counts threads ({@code -Dnq.loadThreads}), named in
     * the messages.
     */
    public static int parse(String property, String value, int cores) {
        if (value == null) return Math.max(1, cores);
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + property + " must be a whole number of threads in 1.." + max(cores)
                    + ", is '" + value + "'");
        }
        if (n < 1 || n > max(cores)) {
            throw new IllegalArgumentException("-D" + property + " must be in 1.." + max(cores) + " (this machine has "
                    + cores + " cores), is " + n);
        }
        return n;
    }

    /** The thread count the system property asks for on this machine. */
    public static int fromProperty() {
        return parse(System.getProperty(PROPERTY), Runtime.getRuntime().availableProcessors());
    }
}
