package dev.nexusquant.engine.testing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A child JVM run with {@code -Xint} (every kernel interpreted, the Vector API in its Java fallback) for the JIT-tier
 * determinism tests: it runs a test class's {@code main} on this JVM's class path, with the vector module and the
 * vectorization switch passed on, and leaves its floats in a file that {@link #await} reads back bit for bit.
 *
 * <pre>
 *   InterpretedChild c = InterpretedChild.start(dir, "q8", MyTest.class, modelPath);  // runs MyTest.main(model, OUT)
 *   ... warm runs in this JVM ...
 *   InterpretedChild.assertBitwiseEqual(warm, c.await(), "q8: -Xint child against the warm runs");
 * </pre>
 */
public final class InterpretedChild {

    private final Process process;
    private final Path out;
    private final Path log;

    private InterpretedChild(Process process, Path out, Path log) {
        this.process = process;
        this.out = out;
        this.log = log;
    }

    /**
     * Starts {@code main.main(args..., OUT)} in a child JVM; OUT is {@code dir/child-NAME.bin} (written with
     * {@link #write}), its output goes to {@code dir/child-NAME.log}.
     */
    public static InterpretedChild start(Path dir, String name, Class<?> main, String... args) throws IOException {
        Path out = dir.resolve("child-" + name + ".bin"), log = dir.resolve("child-" + name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xint", "--enable-native-access=ALL-UNNAMED"));
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            cmd.addAll(List.of("--add-modules", "jdk.incubator.vector"));
        }
        String switchValue = System.getProperty("nq.vectorization");
        if (switchValue != null) cmd.add("-Dnq.vectorization=" + switchValue);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        cmd.add(out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new InterpretedChild(p, out, log);
    }

    /** Waits for the child (a bound for a hung child, not a speed check) and returns the floats it wrote. */
    public float[] await() throws InterruptedException, IOException {
        if (!process.waitFor(600, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("the -Xint child did not finish in 600 s");
        }
        assertEquals(0, process.exitValue(), () -> "the -Xint child failed: " + readQuietly(log));
        try (DataInputStream in = new DataInputStream(Files.newInputStream(out))) {
            float[] l = new float[in.readInt()];
            for (int i = 0; i < l.length; i++) l[i] = Float.intBitsToFloat(in.readInt());
            return l;
        }
    }

    /** What a child's {@code main} calls with its last argument: the floats, bit for bit. */
    public static void write(float[] values, Path out) throws IOException {
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(out))) {
            o.writeInt(values.length);
            for (float v : values) o.writeInt(Float.floatToRawIntBits(v));
        }
    }

    /** Fails at the first float whose bits differ, naming its index. */
    public static void assertBitwiseEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": first difference at " + i + " of " + expected.length + ": " + expected[i] + " against " + actual[i]);
            }
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
