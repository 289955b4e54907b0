package dev.nexusquant.bench;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.engine.tensor.Kernels;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Dense-cache attention of one KV head (4 query heads, head_dim 64, GQA 4:1) over {@code context} cached tokens:
 * {@code decode} is one query token (what each generated token pays per KV head and layer), {@code prefill64} is 64
 * query tokens at the end of the context.
 * Run: {@code java --add-modules jdk.incubator.vector -jar nq-bench/target/benchmarks.jar AttentionBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class AttentionBench {

    @Param({"2048", "8192"})
    public int context;

    @Param({"FP32", "FP16"})
    public String precision;

    @Param({"vector", "scalar"})
    public String kernels;

    static final KvLayout LAYOUT = new KvLayout(1, 4, 1, 64, 32768, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 64));

    DenseKvCache cache;
    float[] q1, out1, q64, out64;
    int[] pos1, pos64;

    @Setup(Level.Trial)
    public void setup() {
        Kernels k = kernels.equals("scalar") ? Kernels.scalar() : Kernels.vector();
        cache = new DenseKvCache(LAYOUT, DenseKvCache.Precision.valueOf(precision), k);
        Random r = new Random(1);
        float[] kv = new float[context * 64], vv = new float[context * 64];
        for (int i = 0; i < kv.length; i++) {
            kv[i] = (float) r.nextGaussian();
            vv[i] = (float) r.nextGaussian();
        }
        int[] pos = new int[context];
        for (int i = 0; i < context; i++) pos[i] = i;
        cache.append(0, context, pos, kv, vv);
        q1 = new float[4 * 64];
        out1 = new float[4 * 64];
        q64 = new float[64 * 4 * 64];
        out64 = new float[64 * 4 * 64];
        for (int i = 0; i < q64.length; i++) q64[i] = (float) r.nextGaussian();
        System.arraycopy(q64, 0, q1, 0, q1.length);
        pos1 = new int[]{context - 1};
        pos64 = new int[64];
        for (int i = 0; i < 64; i++) pos64[i] = context - 64 + i;
    }

    @TearDown
    public void close() {
        cache.close();
    }

    @Benchmark
    public float[] decode() {
        cache.attend(0, 0, 1, pos1, q1, out1);
        return out1;
    }

    @Benchmark
    public float[] prefill64() {
        cache.attend(0, 0, 64, pos64, q64, out64);
        return out64;
    }
}
