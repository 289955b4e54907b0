package dev.nexusquant.bench;

import dev.nexusquant.codec.container.ContainerReader;
import dev.nexusquant.codec.container.ContainerWriter;
import dev.nexusquant.codec.container.CorruptContainerException;
import dev.nexusquant.codec.container.KvContainer;
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
 * Writing and reading a whole container: nq-ref-27m's cache shape after a 2048-token prompt (8 layers x 2 KV heads x
 * 64, about half the tokens kept, 2-bit E8 keys and values, a 32-token fp16 window), RAW and ZSTD (level 3). Scores
 * are containers per second; the container is 4 MiB of fp16-equivalent data (ZstdChoice prints its sizes).
 * Run: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar nq-bench/target/benchmarks.jar ContainerBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class ContainerBench {

    @Param({"raw", "zstd"})
    public String form;

    KvContainer container;
    ContainerWriter.Options options;
    byte[] bytes;

    @Setup
    public void setup() {
        container = CodecData.container(2, 11);
        options = form.equals("raw") ? ContainerWriter.RAW : ContainerWriter.ZSTD;
        bytes = ContainerWriter.write(container, options);
    }

    @Benchmark
    public byte[] write() {
        return ContainerWriter.write(container, options);
    }

    @Benchmark
    public KvContainer read() throws CorruptContainerException {
        return ContainerReader.read(bytes);
    }
}
