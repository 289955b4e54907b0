package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.engine.tensor.Quants;
import dev.nexusquant.engine.tensor.Weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * The single-thread decode kernel ({@link Kernels#dotRows}, as {@code Linear} calls it at one thread) over every row of a 2048 x 2048 matrix of each type: the
 * best of 300 passes, in GB/s of the weights' bytes in the file (the kernels may read a form
 * they prepared at load, {@link Kernels#prepare}, as a model's weights are). Less sensitive to a busy machine than a mean. With {@code MIB}, the
 * matrix's bytes are repeated to fill that many MiB (more than the caches hold: weights come from memory, as in the
 * decode of a large model) and the best of 10 passes is printed. With {@code ROWS} (and {@code MIB} 0) the matrix has
 * that many rows, e.g. 512 x 512 (278 KB of Q8_0) to run from L2, where arithmetic rather than memory holds a kernel,
 * and each timed pass repeats the product to ~20 MB of weights. {@code -Drow.hugePages=true} puts the prepared form
 * on huge pages as a model's loader does (by default it is on ordinary pages).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.RowThroughput [vector|scalar] [TYPES] [COLS] [MIB] [ROWS]</pre>
 */
public final class RowThroughput {

    /** {@code -Drow.hugePages=true}: the prepared form on huge pages ({@code HugePageArena}, as a model's weights). */
    private static final boolean HUGE = Boolean.getBoolean("row.hugePages");

    private static void joinQuietly(Thread t) {
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) {
        Kernels k = args.length > 0 && args[0].equals("scalar") ? Kernels.scalar() : Kernels.vector();
        String types = args.length > 1 ? args[1] : "F32,F16,BF16,Q8_0,Q4_0,Q4_K,Q6_K";
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
        long mib = args.length > 3 ? Long.parseLong(args[3]) : 0;
        int rows = args.length > 4 ? Integer.parseInt(args[4]) : 2048 * 2048 / cols;
        int reps = mib > 0 ? 10 : 300;
        for (String name : types.split(",")) {
            GgmlType t = GgmlType.valueOf(name);
            Random r = new Random(1);
            float[] v = new float[rows * cols];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            byte[] b = Quants.quantize(t, v);
            int copies = (int) Math.max(1, (mib << 20) / b.length);
            MemorySegment seg = Arena.ofAuto().allocate((long) copies * b.length, 64);
            Arena prepared = HUGE ? dev.nexusquant.engine.tensor.HugePageArena.ofShared() : Arena.ofAuto();
            for (int i = 0; i < copies; i++) MemorySegment.copy(MemorySegment.ofArray(b), 0, seg, (long) i * b.length, b.length);
            int allRows = rows * copies;
            Weights w = k.prepare(new Weights("w", t, allRows, cols, seg), prepared); // as a model loads it
            if (prepared instanceof dev.nexusquant.engine.tensor.HugePageArena h) joinQuietly(h.settle());
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) x[i] = (float) r.nextGaussian();
            float[] out = new float[allRows];
            float sink = 0;
            long best = Long.MAX_VALUE;
            int inner = args.length > 4 ? (int) Math.max(1, 20_000_000 / seg.byteSize()) : 1; // products per timed pass
            for (int rep = 0; rep < reps; rep++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < inner; i++) k.dotRows(w, 0, allRows, x, 0, out, 0);
                best = Math.min(best, (System.nanoTime() - t0) / inner);
            }
            for (float o : out) sink += o; // the results of one pass: the same for every kernel, up to rounding
            System.out.printf("%s %-5s best %6.0f us  %6.2f GB/s  (checksum %.3f)%n", k.name(), name, best / 1e3, seg.byteSize() / (double) best, sink);
        }
    }
}
