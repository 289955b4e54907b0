package dev.nexusquant.engine.tensor;

import java.lang.System.Logger.Level;

/**
 * Which twin of one kernel {@link WarmingKernels} runs: the scalar twin while the vector twin is slower, the vector twin
 * for good once it has run {@value #MARGIN} times faster per element than the scalar twin's best, {@value #WINS} times
 * in a row, after at least {@value #MIN_SCALAR_CALLS} scalar calls (so that the scalar twin has left the interpreter;
 * the margin keeps a vector twin that is merely less slow, in the interpreter or C1, from winning: a false win at
 * 1.13x was seen without it; after C2 the vector calls that won ran 1.8-10 times as fast as the scalar twin's best).
 *
 * <p>Until then the vector twin runs either on a thin slice of every call (its first tokens, rows or elements, the
 * scalar twin doing the rest: {@link #recordSlice}), so that the JIT sees it run and compiles it, or, where a call
 * cannot be cut, on whole calls within a budget ({@link #sampleVector}): after a vector call of {@code v} ns, the next
 * one waits until the scalar twin has spent {@code BUDGET * v} ns. A vector twin still in the interpreter or C1, where
 * each vector operation is boxed, is 50-400 times slower than after C2, and the JIT counts loop iterations, so the
 * slices cost about what whole calls would have cost until the compiler is triggered; what the scalar twin saves is
 * the time between then and C2's code. The decision is taken on measured time only (no timer, no JVM-internal state);
 * it cannot change a result, the twins computing the same bits.
 *
 * <p>Several threads may share one race: its counters are updated without locks (a lost update only delays a sample or
 * the switch); the switch itself is a volatile flag that is only ever set.
 */
final class KernelRace {

    /** Scalar time per whole vector call, at most, while the vector twin has not yet won. */
    static final int BUDGET = 1;
    /** Scalar calls before a vector call may count as a win. */
    static final int MIN_SCALAR_CALLS = 32;
    /** Wins in a row that hand the kernel to the vector twin. */
    static final int WINS = 2;
    /** How many times faster per element than the scalar twin's best a vector call must be to win. */
    static final double MARGIN = 1.5;

    private static final System.Logger LOG = System.getLogger("dev.nexusquant.engine.tensor");

    private final String kernel;
    private volatile boolean vectorWon;
    private double scalarBest = Double.POSITIVE_INFINITY; // ns per element, the best scalar measurement
    private long scalarSince; // scalar ns since the last whole vector call
    private long lastVector = -1; // ns of the last whole vector call; -1 before the first
    private int scalarCalls, vectorCalls, wins;
    private long scalarNanos, vectorNanos; // totals, for {@link #toString}

    KernelRace(String kernel) {
        this.kernel = kernel;
    }

    /** True once the vector twin has won: every call goes to it, untimed. */
    boolean vectorWon() {
        return vectorWon;
    }

    /** For a call that cannot be cut: whether it should run the vector twin (timed, then {@link #record}). */
    boolean sampleVector() {
        if (scalarCalls == 0) return false;
        return lastVector < 0 || scalarSince >= BUDGET * lastVector;
    }

    /** Records a whole call of {@code elements} units of work on one twin that took {@code nanos}. */
    void record(boolean vector, long nanos, long elements) {
        if (vector) {
            lastVector = nanos;
            scalarSince = 0;
            vectorTook(nanos, elements);
        } else {
            scalarSince += nanos;
            scalarTook(nanos, elements);
        }
    }

    /** Records a call cut in two: {@code vElements} on the vector twin in {@code vNanos}, the rest on the scalar twin. */
    void recordSlice(long vNanos, long vElements, long sNanos, long sElements) {
        scalarTook(sNanos, sElements);
        vectorTook(vNanos, vElements);
    }

    private void scalarTook(long nanos, long elements) {
        scalarCalls++;
        scalarNanos += nanos;
        double perElement = (double) Math.max(nanos, 1) / Math.max(elements, 1);
        if (perElement < scalarBest) scalarBest = perElement;
    }

    private void vectorTook(long nanos, long elements) {
        vectorCalls++;
        vectorNanos += nanos;
        double perElement = (double) Math.max(nanos, 1) / Math.max(elements, 1);
        if (scalarCalls < MIN_SCALAR_CALLS || perElement * MARGIN >= scalarBest) {
            wins = 0;
            return;
        }
        if (++wins < WINS) return;
        vectorWon = true;
        double best = scalarBest;
        int s = scalarCalls, v = vectorCalls;
        LOG.log(Level.DEBUG, () -> String.format("%s: the vector twin takes over after %d scalar and %d vector calls"
                + " (%.4f against %.4f ns per element)", kernel, s, v, perElement, best));
    }

    /** The kernel, whether the vector twin has won, and the calls and time of both twins until it did. */
    @Override
    public String toString() {
        return String.format("%s: %s, scalar %d calls %.3f s, vector %d calls %.3f s", kernel, vectorWon ? "vector" : "warming",
                scalarCalls, scalarNanos / 1e9, vectorCalls, vectorNanos / 1e9);
    }

    /** Calls so far, for tests: {@code [scalar, vector]}. */
    int[] calls() {
        return new int[]{scalarCalls, vectorCalls};
    }
}
