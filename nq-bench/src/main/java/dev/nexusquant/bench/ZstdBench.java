package dev.nexusquant.bench;

import io.airlift.compress.v3.zstd.ZstdJavaCompressor;
import io.airlift.compress.v3.zstd.ZstdJavaDecompressor;
import io.airlift.compress.v3.zstd.ZstdNativeCompressor;
import io.airlift.compress.v3.zstd.ZstdNativeDecompressor;
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

import java.util.concurrent.TimeUnit;

/**
 * The zstd libraries on the code streams of the at-rest form (see {@link ZstdChoice} for the ratios): zstd-jni
 * (JNI, level 3), aircompressor-v3's pure-Java codec, and aircompressor-v3's native codec (FFM, level 3). Scores are
 * calls per second; MB/s = score * stream bytes / 1e6 (ZstdChoice prints the stream sizes).
 * Run: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar nq-bench/target/benchmarks.jar ZstdBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-XX:+UseParallelGC"})
public class ZstdBench {

    @Param({"zstd-jni", "aircompressor-java", "aircompressor-native"})
    public String library;

    @Param({"e8-2bit-codes", "e8-4bit-codes", "positions", "window-f16"})
    public String stream;

    byte[] src;
    byte[] compressed;
    byte[] out;
    byte[] back;

    @Setup
    public void setup() {
        src = CodecData.stream(stream, 11);
        out = new byte[src.length * 2 + 1024];
        compressed = java.util.Arrays.copyOf(out, compress());
        back = new byte[src.length];
    }

    @Benchmark
    public int compress() {
        return switch (library) {
            case "zstd-jni" -> (int) com.github.luben.zstd.Zstd.compressByteArray(out, 0, out.length, src, 0, src.length, 3);
            case "aircompressor-java" -> new ZstdJavaCompressor().compress(src, 0, src.length, out, 0, out.length);
            default -> new ZstdNativeCompressor(3).compress(src, 0, src.length, out, 0, out.length);
        };
    }

    @Benchmark
    public int decompress() {
        return switch (library) {
            case "zstd-jni" -> (int) com.github.luben.zstd.Zstd.decompressByteArray(back, 0, back.length, compressed, 0, compressed.length);
            case "aircompressor-java" -> new ZstdJavaDecompressor().decompress(compressed, 0, compressed.length, back, 0, back.length);
            default -> new ZstdNativeDecompressor().decompress(compressed, 0, compressed.length, back, 0, back.length);
        };
    }
}
