package dev.nexusquant.kv;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Opt-in wall time of compressed attention's stages over the compressed segments, summed over every attend call of
 * the process: on with {@code -Dnq.attend.stages=true} (or {@link #enable}), off by default, when each stage boundary
 * costs one test of a static flag per chunk of rows. Meant for one engine thread ({@code -Dnq.threads=1}): with more,
 * the sums still add up, but the threads' times overlap. What a decode step's time is made of, by stage, without a
 * sampling profiler's attribution inside inlined code.
 */
public final class AttendStages {

    /** The stages of one chunk of a compressed segment's rows, in the order attention runs them. */
    public enum Stage {
        /** Key codes to rows. */
        KEY_DECODE,
        /** Value codes to rows. */
        VALUE_DECODE,
        /** The rows' positions. */
        POSITIONS,
        /** Keys kept with RoPE undone and a KLT basis: coefficients to rows by the basis ({@code KltBasis.inverseRows}). */
        KEY_REBUILD,
        /** Keys kept with RoPE undone: scale, mean and RoPE back on each row. */
        KEY_ROPE,
        /** Query-key dot products. */
        SCORES,
        /** Causal mask and the young rows' logits kept for eviction. */
        MASK,
        /** Online softmax and the weighted sum of values. */
        ABSORB
    }

    private static final Stage[] STAGES = Stage.values();
    private static volatile boolean on = Boolean.getBoolean("nq.attend.stages");
    private static final AtomicLongArray NANOS = new AtomicLongArray(STAGES.length);
    private static final AtomicLongArray COUNTS = new AtomicLongArray(3); // rows, chunks, key coefficients rebuilt

    private AttendStages() {
    }

    /**
     * What the stages took since the last {@link #reset}.
     *
     * @param nanos       [stages] nanoseconds per {@link Stage}, by ordinal
     * @param rows        compressed rows attended (each once per attend call)
     * @param chunks      chunks of rows
     * @param rebuiltDims key coefficients the KLT rebuild visited (rows times the codec's coded dimensions)
     */
    public record Totals(long[] nanos, long rows, long chunks, long rebuiltDims) {

        /** Milliseconds of {@code s}. */
        public double millis(Stage s) {
            return nanos[s.ordinal()] / 1e6;
        }

        /** One line: milliseconds per stage and per {@code steps}, rows per step. */
        public String perStep(int steps) {
            StringBuilder b = new StringBuilder();
            for (Stage s : STAGES) b.append(String.format(java.util.Locale.ROOT, "%s %.2f, ", s.name().toLowerCase(java.util.Locale.ROOT), millis(s) / steps));
            b.append(String.format(java.util.Locale.ROOT, "ms per step; %d compressed rows per step", rows / steps));
            if (rebuiltDims > 0) b.append(String.format(java.util.Locale.ROOT, ", %.1f coded coefficients per rebuilt row", (double) rebuiltDims / rows));
            return b.toString();
        }
    }

    /** Turns the timing on or off for the whole process (tests; the property decides at start). */
    public static void enable(boolean enabled) {
        on = enabled;
    }

    public static boolean enabled() {
        return on;
    }

    /** Zeroes the sums. */
    public static void reset() {
        for (int i = 0; i < STAGES.length; i++) NANOS.set(i, 0);
        for (int i = 0; i < COUNTS.length(); i++) COUNTS.set(i, 0);
    }

    public static Totals totals() {
        long[] ns = new long[STAGES.length];
        for (int i = 0; i < ns.length; i++) ns[i] = NANOS.get(i);
        return new Totals(ns, COUNTS.get(0), COUNTS.get(1), COUNTS.get(2));
    }

    /** A stage's start: the clock when on, else 0. */
    static long now() {
        return on ? System.nanoTime() : 0L;
    }

    /**
     * Ends {@code stage}, begun at {@code since} (from {@link #now} or a previous lap), and starts the next one.
     *
     * @return the clock now when on, else 0
     */
    static long lap(Stage stage, long since) {
        if (!on) return 0L;
        long t = System.nanoTime();
        NANOS.addAndGet(stage.ordinal(), t - since);
        return t;
    }

    /** Counts one chunk of {@code rows} compressed rows, of which {@code rebuiltDims} key coefficients were rebuilt. */
    static void chunk(int rows, long rebuiltDims) {
        if (!on) return;
        COUNTS.addAndGet(0, rows);
        COUNTS.addAndGet(1, 1);
        COUNTS.addAndGet(2, rebuiltDims);
    }
}
