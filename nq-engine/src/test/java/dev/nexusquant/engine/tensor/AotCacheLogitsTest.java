package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.testing.InterpretedChild;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static dev.nexusquant.engine.testing.InterpretedChild.assertBitwiseEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./nq} runs with JDK 25's AOT cache by default (the classes and the method profiles of a recorded run): the
 * logits do not depend on it. Two child JVMs with the launcher's JIT flags and the kernel primer compute a model's
 * logits, the first recording a cache at its exit, the second required to use it ({@code -XX:AOTMode=on}); both give
 * this JVM's bits. The JVM archives classes from jars only, so the children run on jars made of this class path's
 * directories.
 */
class AotCacheLogitsTest {

    @TempDir
    Path dir;

    @Test
    void logitsAreTheSameRecordingAndUsingTheAotCache() throws Exception {
        Path model = RandomModel.llama(4, 2, 64, GgmlType.Q8_0).seed(KernelPrimerTest.SEED).write(dir);
        float[] here = KernelPrimerTest.logits(model);
        String classPath = jarredClassPath();
        Path cache = dir.resolve("nq.aot");

        float[] recording = child("record", classPath, model, "-XX:AOTCacheOutput=" + cache);
        assertTrue(Files.size(cache) > 0, "the first child recorded a cache");
        float[] using = child("use", classPath, model, "-XX:AOTCache=" + cache, "-XX:AOTMode=on");

        assertBitwiseEqual(here, recording, "the child recording the AOT cache against this JVM");
        assertBitwiseEqual(here, using, "the child using the AOT cache against this JVM");
    }

    /** Entry point of the children: {@code MODEL OUT} starts the kernel primer, as the CLI does, and writes the logits to OUT. */
    public static void main(String[] args) throws IOException {
        KernelPrimer.start();
        InterpretedChild.write(KernelPrimerTest.logits(Path.of(args[0])), Path.of(args[1]));
    }

    /** Runs {@link #main} in a child JVM with {@code ./nq}'s JVM flags and {@code extra}; returns its logits. */
    private float[] child(String name, String classPath, Path model, String... extra) throws Exception {
        Path out = dir.resolve(name + ".bin"), log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC",
                "-XX:CompileCommand=quiet",
                "-XX:CompileCommand=CompileThresholdScaling,dev/nexusquant/engine/tensor/VectorKernels.*,0.02",
                "-XX:CompileCommand=BackgroundCompilation,dev/nexusquant/engine/tensor/VectorKernels.*,false"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("-cp", classPath, AotCacheLogitsTest.class.getName(), model.toString(), out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the " + name + " child did not finish in 300 s"); // a bound for a hung child
        assertEquals(0, p.exitValue(), () -> "the " + name + " child failed: " + read(log));
        try (var in = new java.io.DataInputStream(Files.newInputStream(out))) {
            float[] l = new float[in.readInt()];
            for (int i = 0; i < l.length; i++) l[i] = Float.intBitsToFloat(in.readInt());
            return l;
        }
    }

    /** This JVM's class path with each directory replaced by a jar of its files. */
    private String jarredClassPath() throws IOException {
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (!Files.isDirectory(p)) {
                entries.add(e);
                continue;
            }
            Path jar = dir.resolve("cp" + n++ + ".jar");
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(p)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    out.putNextEntry(new JarEntry(p.relativize(f).toString().replace(File.separatorChar, '/')));
                    Files.copy(f, (OutputStream) out);
                    out.closeEntry();
                }
            }
            entries.add(jar.toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
