package dev.nexusquant.codec;

/**
 * Seeds for randomized tests: a fresh one per run, printed, and replayable with {@code -Dnq.test.seed=N}.
 */
public final class TestSeeds {

    private TestSeeds() {
    }

    public static long seed(String test) {
        String fixed = System.getProperty("nq.test.seed");
        long seed = fixed != null && !fixed.isBlank() ? Long.parseLong(fixed.trim()) : System.nanoTime();
        System.out.println(test + ": seed=" + seed + " (replay with -Dnq.test.seed=" + seed + ")");
        return seed;
    }
}
