package dev.nexusquant.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Decode of two builds of the engine side by side in one process: each jar in a class loader of its own loads the same
 * model (and waits for its weights to settle where the build has {@code Model.awaitWeightsSettled}), then blocks of single-token steps (each block a new session) alternate between the two, after two untimed
 * rounds. Prints, per jar, the load time and the medians (and quartiles) of each step's wall time and of the calling
 * thread's CPU time. On a busy machine the CPU time per step moves much less than the wall time (another process
 * taking the core stops the clock of neither jar's CPU time), so it is the figure to compare there; with more than one
 * engine thread ({@code -Dnq.threads}) only the wall time means anything.
 *
 * <p><b>Order bias.</b> The two jars share the JDK's Vector API classes (platform class loader) and with them the
 * profiles C2 compiles those methods' call sites with. When the two builds use the Vector API differently, the one run
 * first can be compiled better than the other: nq-ref-27m, fp16 row kernel against fp16 groups (2026-12-04, load 2.6-2.9),
 * B against A 0.873x in one order and 0.634x in the other (each build 15-40% faster as A), while the same jar against
 * itself gave 1.007x and the two builds in separate processes ({@link EngineBench}, alternating) decoded at the same
 * speed. So run both orders, and check a difference in separate processes before believing it.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dnq.threads=1 \
 *      -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.DecodeSideBySide MODEL.gguf A.jar B.jar [block=16] [rounds=6]
 * </pre>
 */
public final class DecodeSideBySide {

    private DecodeSideBySide() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: DecodeSideBySide MODEL.gguf A.jar B.jar [block=16] [rounds=6]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        String[] jars = {args[1], args[2]};
        int block = args.length > 3 ? Integer.parseInt(args[3]) : 16, rounds = args.length > 4 ? Integer.parseInt(args[4]) : 6;
        for (String j : jars) {
            if (!Files.isRegularFile(Path.of(j))) throw new IllegalArgumentException("no such jar: " + j);
        }
        Object[] models = new Object[2];
        Method[] newSession = new Method[2], forward = new Method[2], close = new Method[2];
        double[] load = new double[2];
        for (int k = 0; k < 2; k++) {
            ClassLoader cl = new URLClassLoader(new URL[]{Path.of(jars[k]).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> m = Class.forName("dev.nexusquant.engine.model.Model", true, cl);
            long t = System.nanoTime();
            models[k] = m.getMethod("load", Path.class).invoke(null, model);
            load[k] = (System.nanoTime() - t) / 1e9;
            try { // builds that move their weights onto huge pages after load: wait for it (steady state)
                m.getMethod("awaitWeightsSettled").invoke(models[k]);
            } catch (NoSuchMethodException e) { // an older build: nothing to wait for
            }
            newSession[k] = m.getMethod("newSession");
            Class<?> s = Class.forName("dev.nexusquant.engine.model.Session", true, cl);
            forward[k] = s.getMethod("forward", int[].class, int.class, int.class, boolean.class);
            close[k] = s.getMethod("close");
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Random r = new Random(1);
        int[] tokens = new int[block];
        for (int i = 0; i < block; i++) tokens[i] = 1 + r.nextInt(1000);
        List<List<Double>> wall = List.of(new ArrayList<>(), new ArrayList<>()), cpu = List.of(new ArrayList<>(), new ArrayList<>());
        for (int round = -2; round < rounds; round++) {
            for (int k = 0; k < 2; k++) {
                Object s = newSession[k].invoke(models[k]);
                for (int i = 0; i < block; i++) {
                    long t = System.nanoTime(), c = mx.getCurrentThreadCpuTime();
                    forward[k].invoke(s, tokens, i, 1, false);
                    long dt = System.nanoTime() - t, dc = mx.getCurrentThreadCpuTime() - c;
                    if (round >= 0) {
                        wall.get(k).add(dt / 1e6);
                        cpu.get(k).add(dc / 1e6);
                    }
                }
                close[k].invoke(s);
            }
        }
        for (int k = 0; k < 2; k++) {
            System.out.printf(Locale.ROOT, "%s %s: load %.2f s, per step: wall median %.3f ms (quartiles %.3f-%.3f), CPU median %.3f ms (quartiles %.3f-%.3f), %d steps%n",
                    k == 0 ? "A" : "B", jars[k], load[k], quantile(wall.get(k), .5), quantile(wall.get(k), .25), quantile(wall.get(k), .75),
                    quantile(cpu.get(k), .5), quantile(cpu.get(k), .25), quantile(cpu.get(k), .75), wall.get(k).size());
        }
        System.out.printf(Locale.ROOT, "%s: B against A (speed): wall %.3fx, CPU %.3fx; load average at the end %s%n", model.getFileName(),
                quantile(wall.get(0), .5) / quantile(wall.get(1), .5), quantile(cpu.get(0), .5) / quantile(cpu.get(1), .5),
                Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    }

    static double quantile(List<Double> v, double p) {
        List<Double> c = new ArrayList<>(v);
        Collections.sort(c);
        return c.get((int) Math.round(p * (c.size() - 1)));
    }
}
