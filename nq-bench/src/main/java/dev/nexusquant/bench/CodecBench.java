package dev.nexusquant.bench;

import dev.nexusquant.codec.e8.E8Codec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * The fixed-rate E8 codec's four operations on 256 rotated KV-like vectors of dimension 128, Vector API kernels
 * against their scalar twins, at 1 to 4 code bits per value; encoding one vector per call and all 256 in one call. Scores are vectors per second; one vector is 256 bytes
 * of fp16, so MB/s of fp16-equivalent data = score * 256 / 1e6.
 * Run: {@code java --add-modules jdk.incubator.vector -jar nq-bench/target/benchmarks.jar CodecBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class CodecBench {

    static final int N = 256;
    static final int DIM = 128;

    @Param({"vector", "scalar"})
    public String kernel;

    @Param({"1", "2", "3", "4"})
    public int bits;

    E8Codec codec;
    float[] x;
    byte[] codes;
    float[] q;
    float[] out;
    int bpv;

    @Setup
    public void setup() {
        codec = kernel.equals("vector") ? E8Codec.vectorized(DIM, bits, DIM) : E8Codec.scalar(DIM, bits, DIM);
        bpv = codec.bytesPerVector();
        x = CodecData.rotated(N, DIM, 1);
        codes = new byte[N * bpv];
        for (int t = 0; t < N; t++) codec.encode(x, t * DIM, codes, t * bpv);
        q = CodecData.rotated(1, DIM, 2);
        out = new float[DIM];
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public void encode() {
        for (int t = 0; t < N; t++) codec.encode(x, t * DIM, codes, t * bpv);
    }

    /** The same N vectors in one call: the batched encoder fills its lanes across vectors (what the cache does). */
    @Benchmark
    @OperationsPerInvocation(N)
    public void encodeBatch() {
        codec.encode(x, 0, N, codes, 0);
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public void decode(Blackhole bh) {
        for (int t = 0; t < N; t++) {
            codec.decode(codes, t * bpv, out, 0);
            bh.consume(out);
        }
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public float dot() {
        float s = 0;
        for (int t = 0; t < N; t++) s += codec.dot(q, 0, codes, t * bpv);
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public float[] axpy() {
        for (int t = 0; t < N; t++) codec.axpy(0.001f, codes, t * bpv, out, 0);
        return out;
    }
}
