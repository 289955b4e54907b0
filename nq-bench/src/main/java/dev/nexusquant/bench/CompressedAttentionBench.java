package dev.nexusquant.bench;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.kv.KvSpec;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One decode step of attention for one (layer, KV head) of a head_dim 128, GQA 4:1 model over {@code tokens} cached
 * tokens: the engine's dense fp32 cache against compressed caches (rows of every kind, with and without eviction).
 * {@code java --add-modules jdk.incubator.vector -jar nq-bench/target/benchmarks.jar CompressedAttentionBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class CompressedAttentionBench {

    @Param({"2048", "8192"})
    int tokens;

    @Param({"dense-fp32", "k=fp16,v=fp16,wprec=f16", "k=e8:2,v=e8:2,rot=on,center=kv,wprec=f16",
            "k=e8:3,v=e8:2,rot=on,center=kv,wprec=f16,evict=snapkv:0.4"})
    String cache;

    KvCache kv;
    float[] q, out;
    int[] pos;

    @Setup(Level.Trial)
    public void setup() {
        KvLayout layout = new KvLayout(1, 8, 2, 128, 1 << 20, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 128));
        KvCacheFactory f = cache.equals("dense-fp32") ? DenseKvCache.FP32 : KvSpec.parse(cache);
        kv = DecodeSpeed.fill(layout, f, tokens, 1);
        Random rnd = new Random(2);
        q = new float[layout.qDim()];
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        out = new float[layout.qDim()];
        pos = new int[]{tokens};
        float[] k = new float[layout.kvDim()], v = new float[layout.kvDim()];
        kv.append(0, 1, pos, k, v);
    }

    @Benchmark
    public float[] attendOneHead() {
        kv.attend(0, 0, 1, pos, q, out);
        return out;
    }
}
