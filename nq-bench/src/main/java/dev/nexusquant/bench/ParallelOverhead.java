package dev.nexusquant.bench;

import dev.nexusquant.engine.tensor.Parallel;

import java.util.Arrays;
import java.util.Locale;

/**
 * What one parallel product costs beyond its work: {@code Parallel.run} of {@code threads()} parts that each do
 * {@code work} nanoseconds of spinning, timed call by call ({@code calls} per round, after a warm-up), against the
 * same work run on one thread. Prints the median and 90th percentile of the wall time per call and the overhead (median
 * minus the work of one part). Decode calls ~100 products per token, each 30 us (project model) to 0.4 ms (1B).
 *
 * <pre>
 * java -Dnq.threads=2 [-Dnq.spinMicros=0] -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.ParallelOverhead [work_us=20] [calls=20000]
 * </pre>
 */
public final class ParallelOverhead {

    private ParallelOverhead() {
    }

    public static void main(String[] args) {
        long workNanos = (long) (1000 * (args.length > 0 ? Double.parseDouble(args[0]) : 20));
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        int parts = Parallel.threads();
        long[] t = new long[calls];
        for (int round = 0; round < 2; round++) { // the first round warms up
            for (int i = 0; i < calls; i++) {
                long t0 = System.nanoTime();
                Parallel.run(parts, p -> spin(workNanos));
                t[i] = System.nanoTime() - t0;
            }
        }
        Arrays.sort(t);
        double median = t[calls / 2] / 1e3, p90 = t[calls * 9 / 10] / 1e3;
        System.out.printf(Locale.ROOT, "threads %d, spinMicros %s, work per part %.1f us: per call median %.1f us, p90 %.1f us, overhead (median - work) %.1f us%n",
                parts, System.getProperty("nq.spinMicros", "default"), workNanos / 1e3, median, p90, median - workNanos / 1e3);
    }

    private static void spin(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) Thread.onSpinWait();
    }
}
