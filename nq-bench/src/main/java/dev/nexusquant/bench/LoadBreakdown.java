package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.ModelConfig;
import dev.nexusquant.engine.tensor.HugePageArena;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.engine.tensor.Quants;
import dev.nexusquant.engine.tensor.Weights;
import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a model's load goes, in a new process: the steps {@link Model#load} takes, one after another in its order and
 * timed one by one (wall, the process's CPU, the calling thread's CPU): JVM start to {@code main}, the GGUF parse and
 * mapping, the configuration, the tokenizer, the weight matrices by type (each split into the packed copy's
 * allocation, which populates its pages, and the packing itself, which also pages in the file's bytes it reads), the
 * norm vectors; then {@code loads} whole {@link Model#load}s in the same process (the first of them with the JIT as
 * the steps left it), each followed by the wait for its weights' move onto huge pages ({@link Model#awaitWeightsSettled}:
 * {@code loads_s} holds [wall, CPU, settle wall, settle CPU] per load). With {@code touch}, every page of the file's tensor data is read once before the matrices (so that
 * the packing steps no longer page in the file). Prints one line per step and one JSON line.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dnq.threads=T \
 *      -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.LoadBreakdown MODEL.gguf [loads=2] [touch]
 * </pre>
 */
public final class LoadBreakdown {

    private LoadBreakdown() {
    }

    /** Wall, process CPU and calling-thread CPU accumulated by a step, in nanoseconds. */
    private static final class Step {
        long wall, cpu, thread, count;
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final Map<String, Step> STEPS = new LinkedHashMap<>();

    @FunctionalInterface
    private interface Body<T> {
        T run() throws Exception;
    }

    private static <T> T timed(String name, Body<T> body) throws Exception {
        long w0 = System.nanoTime(), c0 = OS.getProcessCpuTime(), t0 = THREADS.getCurrentThreadCpuTime();
        T out = body.run();
        Step s = STEPS.computeIfAbsent(name, k -> new Step());
        s.wall += System.nanoTime() - w0;
        s.cpu += OS.getProcessCpuTime() - c0;
        s.thread += THREADS.getCurrentThreadCpuTime() - t0;
        s.count++;
        return out;
    }

    /** An arena that times its allocations (the mapping and page population of packed copies) as one step. */
    private record TimedArena(Arena inner) implements Arena {
        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            try {
                return timed("allocate+populate", () -> inner.allocate(byteSize, byteAlignment));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public MemorySegment.Scope scope() {
            return inner.scope();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** Reads one byte of every 4 KiB page of the tensors' data (the file's pages mapped before packing reads them). */
    private static long touch(GgufFile f) {
        long sum = 0;
        for (GgufTensorInfo t : f.tensors().values()) {
            MemorySegment d = t.data();
            for (long at = 0; at < d.byteSize(); at += 4096) sum += d.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at);
        }
        return sum;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: LoadBreakdown MODEL.gguf [loads=2] [touch]");
            System.exit(2);
        }
        Path path = Path.of(args[0]);
        int loads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        boolean touch = args.length > 2 && args[2].equals("touch");
        double jvmToMain = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
        double cpuToMain = OS.getProcessCpuTime() / 1e9;
        long w0 = System.nanoTime(), c0 = OS.getProcessCpuTime();
        Kernels kernels = timed("kernels", Kernels::preferred);
        try (GgufFile f = timed("gguf parse+map", () -> GgufFile.open(path));
             Arena arena = new TimedArena(HugePageArena.ofShared())) {
            ModelConfig c = timed("config", () -> ModelConfig.fromGguf(f));
            timed("tokenizer", () -> Tokenizer.fromGguf(f));
            if (touch) timed("file pages touched", () -> touch(f));
            for (GgufTensorInfo t : f.tensors().values()) {
                long[] d = t.dims();
                if (d.length >= 2 && d[1] > 1) {
                    Weights w = new Weights(t.name(), t.type(), (int) d[1], (int) d[0], t.data());
                    timed("matrix " + t.type(), () -> kernels.prepare(w, arena));
                } else {
                    int n = (int) d[0];
                    timed("vectors", () -> {
                        float[] v = new float[n];
                        Quants.dequantize(t.type(), t.data(), 0, v, 0, n);
                        return v;
                    });
                }
            }
            if (!c.tiedOutput() && f.tensor("output.weight") == null) throw new IllegalStateException("no output matrix");
        }
        double stepsWall = (System.nanoTime() - w0) / 1e9, stepsCpu = (OS.getProcessCpuTime() - c0) / 1e9;
        System.out.printf(Locale.ROOT, "%-22s %8s %8s %8s %6s%n", "step", "wall s", "cpu s", "main s", "calls");
        System.out.printf(Locale.ROOT, "%-22s %8.3f %8.3f %8s %6s%n", "jvm start to main", jvmToMain, cpuToMain, "", "");
        StringBuilder json = new StringBuilder("{\"model\":\"" + path.getFileName() + "\",\"jvm_to_main_s\":"
                + String.format(Locale.ROOT, "%.3f", jvmToMain));
        for (var e : STEPS.entrySet()) {
            Step s = e.getValue();
            System.out.printf(Locale.ROOT, "%-22s %8.3f %8.3f %8.3f %6d%n", e.getKey(), s.wall / 1e9, s.cpu / 1e9, s.thread / 1e9, s.count);
            json.append(String.format(Locale.ROOT, ",\"%s\":[%.3f,%.3f]", e.getKey().replace(' ', '_'), s.wall / 1e9, s.cpu / 1e9));
        }
        System.out.printf(Locale.ROOT, "%-22s %8.3f %8.3f%n", "steps in all", stepsWall, stepsCpu);
        json.append(String.format(Locale.ROOT, ",\"steps_s\":[%.3f,%.3f]", stepsWall, stepsCpu));
        StringBuilder whole = new StringBuilder();
        for (int i = 0; i < loads; i++) {
            long lw = System.nanoTime(), lc = OS.getProcessCpuTime();
            try (Model m = Model.load(path)) {
                double wall = (System.nanoTime() - lw) / 1e9, cpu = (OS.getProcessCpuTime() - lc) / 1e9;
                long sw = System.nanoTime(), sc = OS.getProcessCpuTime();
                m.awaitWeightsSettled();
                double settleWall = (System.nanoTime() - sw) / 1e9, settleCpu = (OS.getProcessCpuTime() - sc) / 1e9;
                System.out.printf(Locale.ROOT, "Model.load %d           %8.3f %8.3f   then settled in %.3f s wall, %.3f s cpu%n",
                        i, wall, cpu, settleWall, settleCpu);
                whole.append(whole.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "[%.3f,%.3f,%.3f,%.3f]", wall, cpu, settleWall, settleCpu));
            }
        }
        json.append(",\"loads_s\":[").append(whole).append("]}");
        System.out.println(json);
    }
}
