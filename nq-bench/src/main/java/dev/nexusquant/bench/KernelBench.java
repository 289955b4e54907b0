package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.engine.tensor.Linear;
import dev.nexusquant.engine.tensor.Quants;
import dev.nexusquant.engine.tensor.Weights;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Weight kernels of the engine on a 2048 x 2048 matrix of each type, scalar against Vector API:
 * <ul>
 *   <li>{@code dotRows}: every row dotted with one vector on one thread (the decode kernel, {@link Kernels#dotRow});</li>
 *   <li>{@code matvec}: the same product through {@link Linear} on all cores (what decode runs);</li>
 *   <li>{@code matmul64}: 64 tokens at once through {@link Linear} on all cores (what prefill runs).</li>
 * </ul>
 * Run: {@code java --add-modules jdk.incubator.vector -jar nq-bench/target/benchmarks.jar KernelBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class KernelBench {

    @Param({"vector", "scalar"})
    public String kernels;

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    static final int ROWS = 2048, COLS = 2048, TOKENS = 64;

    Kernels k;
    Weights w;
    float[] x, xs, out, outs;

    @Setup
    public void setup() {
        k = kernels.equals("scalar") ? Kernels.scalar() : Kernels.vector();
        GgmlType t = GgmlType.valueOf(type);
        Random r = new Random(1);
        float[] v = new float[ROWS * COLS];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        byte[] bytes = Quants.quantize(t, v);
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length, 64); // off-heap, like a mapped file
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        w = new Weights("bench", t, ROWS, COLS, seg);
        x = new float[COLS];
        xs = new float[TOKENS * COLS];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        out = new float[ROWS];
        outs = new float[TOKENS * ROWS];
    }

    @Benchmark
    public void dotRows(Blackhole bh) {
        float s = 0;
        for (int row = 0; row < ROWS; row++) s += k.dotRow(w, row, x, 0);
        bh.consume(s);
    }

    @Benchmark
    public float[] matvec() {
        Linear.apply(k, w, x, 0, 1, out, 0);
        return out;
    }

    @Benchmark
    public float[] matmul64() {
        Linear.apply(k, w, xs, 0, TOKENS, outs, 0);
        return outs;
    }
}
