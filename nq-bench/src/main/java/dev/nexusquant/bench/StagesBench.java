package dev.nexusquant.bench;

import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.eviction.Budget;
import dev.nexusquant.codec.eviction.KeepRule;
import dev.nexusquant.codec.eviction.Evictor;
import dev.nexusquant.codec.hadamard.HadamardRotation;
import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.H2OAccumulator;
import dev.nexusquant.codec.importance.SnapKvScorer;
import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The other stages, each on realistic sizes, and a whole block through all of them:
 * <ul>
 *   <li>{@code hadamard}: forward rotation of a head vector (per vector);</li>
 *   <li>{@code ropeExact} / {@code ropeTable}: inverse RoPE of a key, angles computed or from a table (per vector);</li>
 *   <li>{@code snapKv}: SnapKV scores of 2048 keys from 32 window queries of 4 query heads (per call);</li>
 *   <li>{@code h2o}: one query position of 4 heads over 2048 keys added to an H2O accumulator (per call);</li>
 *   <li>{@code evict}: choosing 20% of 2048 scored tokens (per call);</li>
 *   <li>{@code blockEncode} / {@code blockDecode}: 32 keys of dimension 128 through inverse RoPE, rotation and 2-bit
 *       E8 coding, and back (per vector).</li>
 * </ul>
 * Run: {@code java --add-modules jdk.incubator.vector -jar nq-bench/target/benchmarks.jar StagesBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class StagesBench {

    static final int DIM = 128;
    static final int BLOCK = 32;
    static final int T = 2048;

    @Param({"vector", "scalar"})
    public String kernel;

    HadamardRotation hadamard;
    Rope rope;
    RopeTable table;
    E8Codec codec;
    float[] vectors;   // [BLOCK][DIM]
    float[] work;      // [BLOCK][DIM]
    byte[] codes;
    float[] probs;     // [4][32][T]
    float[] row;       // [4][T]
    float[] scores;    // [T]
    SnapKvScorer snap;
    H2OAccumulator h2o;
    KeepRule policy;

    @Setup
    public void setup() {
        boolean vector = kernel.equals("vector");
        hadamard = vector ? HadamardRotation.vectorized(DIM, 7) : HadamardRotation.scalar(DIM, 7);
        codec = vector ? E8Codec.vectorized(DIM, 2, DIM) : E8Codec.scalar(DIM, 2, DIM);
        rope = new Rope(RopeParams.llama(10000, DIM), DIM);
        table = new RopeTable(rope, 0, T);
        vectors = CodecData.kvLike(BLOCK, DIM, 3);
        work = vectors.clone();
        codes = new byte[BLOCK * codec.bytesPerVector()];
        SplittableRandom rnd = new SplittableRandom(5);
        probs = new float[4 * 32 * T];
        for (int i = 0; i < probs.length; i++) probs[i] = (float) rnd.nextDouble() / T;
        row = new float[4 * T];
        for (int i = 0; i < row.length; i++) row[i] = (float) rnd.nextDouble() / T;
        scores = new float[T];
        for (int i = 0; i < T; i++) scores[i] = (float) rnd.nextDouble();
        snap = new SnapKvScorer(32, 7, SnapKvScorer.Pooling.MAX, GqaReduce.SUM);
        h2o = new H2OAccumulator(T, GqaReduce.SUM);
        policy = new KeepRule(4, 32, Budget.keepFraction(0.2));
    }

    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public float[] hadamard() {
        for (int t = 0; t < BLOCK; t++) hadamard.forward(work, t * DIM);
        return work;
    }

    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public float[] ropeExact() {
        for (int t = 0; t < BLOCK; t++) rope.inverse(work, t * DIM, 1000 + t);
        return work;
    }

    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public float[] ropeTable() {
        for (int t = 0; t < BLOCK; t++) table.inverse(work, t * DIM, 1000 + t);
        return work;
    }

    @Benchmark
    public float[] snapKv() {
        return snap.score(probs, 0, 4, 32, T);
    }

    @Benchmark
    public H2OAccumulator h2o() {
        h2o.addGroup(row, 0, 4, T);
        return h2o;
    }

    @Benchmark
    public int[] evict() {
        return Evictor.select(scores, T, policy);
    }

    /** Pre-RoPE, rotated, 2-bit E8: what a compressed cache does to each key it stores (the block's rows coded in one call). */
    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public byte[] blockEncode() {
        System.arraycopy(vectors, 0, work, 0, work.length);
        for (int t = 0; t < BLOCK; t++) {
            table.inverse(work, t * DIM, 1000 + t);
            hadamard.forward(work, t * DIM);
        }
        codec.encode(work, 0, BLOCK, codes, 0);
        return codes;
    }

    /** The way back: decode, rotate back, re-apply RoPE. */
    @Benchmark
    @OperationsPerInvocation(BLOCK)
    public float[] blockDecode() {
        int bpv = codec.bytesPerVector();
        for (int t = 0; t < BLOCK; t++) {
            codec.decode(codes, t * bpv, work, t * DIM);
            hadamard.inverse(work, t * DIM);
            table.forward(work, t * DIM, 1000 + t);
        }
        return work;
    }
}
