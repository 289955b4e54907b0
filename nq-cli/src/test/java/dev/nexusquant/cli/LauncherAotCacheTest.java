package dev.nexusquant.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The launcher's startup cache (JDK 25's AOT cache, on unless {@code NQ_AOT=off}), on a copy of {@code ./nq} in a temporary
 * install whose jar is a small program (so no build runs): the first {@code generate} records the cache, later runs
 * use it, a rebuilt jar runs its own classes (the JVM alone would take the old ones from the cache) and gets a new
 * cache while the old one goes, a damaged cache is refused by the JVM and the run still succeeds, and the program's
 * stdout is never mixed with the JVM's messages about the cache.
 */
class LauncherAotCacheTest {

    /** The program in the fake install's jar: prints its variant and its arguments. */
    public static final class Echo {
        public static void main(String[] args) {
            System.out.println(VARIANT + " " + String.join(" ", args));
        }
    }

    /** A constant of Echo's class file; a "rebuild" rewrites it to another string of the same length. */
    static final String VARIANT = "variant-A";

    @TempDir
    Path home;
    @TempDir
    Path cacheDir;

    Path jar;

    @BeforeEach
    void install() throws IOException {
        Path launcher = Path.of("..", "nq").toAbsolutePath().normalize();
        assumeTrue(Files.isRegularFile(launcher), "the launcher is not at " + launcher);
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "no bash");
        Files.copy(launcher, home.resolve("nq"));
        Files.setPosixFilePermissions(home.resolve("nq"), PosixFilePermissions.fromString("rwxr-xr-x"));
        jar = home.resolve("nq-cli/target/nq.jar");
        Files.createDirectories(jar.getParent());
        writeJar("variant-A");
    }

    /** Writes the install's jar with Echo's class file, its {@link #VARIANT} string replaced by {@code variant}. */
    private void writeJar(String variant) throws IOException {
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Echo.class.getName());
        String entry = Echo.class.getName().replace('.', '/') + ".class";
        byte[] bytes;
        try (InputStream in = Echo.class.getClassLoader().getResourceAsStream(entry)) {
            bytes = in.readAllBytes();
        }
        byte[] from = VARIANT.getBytes(StandardCharsets.UTF_8), to = variant.getBytes(StandardCharsets.UTF_8);
        assertEquals(from.length, to.length);
        int at = indexOf(bytes, from);
        assertTrue(at >= 0, "the constant is in Echo's class file");
        System.arraycopy(to, 0, bytes, at, to.length);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.putNextEntry(new JarEntry(entry));
            out.write(bytes);
            out.closeEntry();
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    record Result(int exit, String out, String err) {
    }

    private Result nq(String... args) throws Exception {
        return nq(java.util.Map.of(), args);
    }

    private Result nq(java.util.Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("/bin/bash", home.resolve("nq").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("NQ_CACHE_DIR", cacheDir.toString());
        pb.environment().put("NQ_JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("NQ_AOT", "on");
        pb.environment().remove("NQ_JAVA_OPTS");
        pb.environment().putAll(env);
        Path out = Files.createTempFile(home, "out", ".txt"), err = Files.createTempFile(home, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the launcher did not finish in 120 s");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private List<Path> caches() throws IOException {
        try (Stream<Path> s = Files.list(cacheDir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void firstGenerateRecordsTheCacheAndLaterRunsUseIt() throws Exception {
        Result first = nq("generate", "a");
        assertEquals(0, first.exit(), first.err());
        assertEquals("variant-A generate a\n", first.out(), "stdout carries only the program's output");
        List<Path> made = caches();
        assertEquals(1, made.size(), "one cache: " + made);
        assertTrue(made.getFirst().getFileName().toString().endsWith(".aot"), made.toString());
        assertTrue(Files.size(made.getFirst()) > 0);

        Result second = nq("info", "b");
        assertEquals(0, second.exit(), second.err());
        assertEquals("variant-A info b\n", second.out());
        assertEquals(made, caches(), "a run with a cache records nothing");
    }

    @Test
    void commandsOtherThanGenerateDoNotRecord() throws Exception {
        Result r = nq("info");
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of(), caches());
    }

    @Test
    void aRebuiltJarRunsItsOwnClassesGetsANewCacheAndTheOldOneIsRemoved() throws Exception {
        assertEquals(0, nq("generate").exit());
        List<Path> before = caches();
        assertEquals(1, before.size());
        // a rebuild: the same size, the same file; the JVM itself would take the old classes from the cache
        writeJar("variant-B");
        Result r = nq("generate", "again");
        assertEquals(0, r.exit(), r.err());
        assertEquals("variant-B generate again\n", r.out(), "the rebuilt jar's classes run, not the cached ones");
        List<Path> after = caches();
        assertEquals(1, after.size(), after.toString());
        assertFalse(after.equals(before), "the cache of the old jar was replaced: " + before + " -> " + after);
        Result again = nq("info", "later");
        assertEquals("variant-B info later\n", again.out());
    }

    @Test
    void aDamagedCacheIsRefusedAndTheRunSucceeds() throws Exception {
        assertEquals(0, nq("generate").exit());
        Path cache = caches().getFirst();
        byte[] b = Files.readAllBytes(cache);
        for (int i = 0; i < Math.min(b.length, 4096); i++) b[i] ^= (byte) 0x5a;
        Files.write(cache, b);
        Result r = nq("generate", "still");
        assertEquals(0, r.exit(), r.err());
        assertEquals("variant-A generate still\n", r.out(), "the JVM's complaint about the cache stays off stdout");
    }

    @Test
    void nqAotOffMeansNoCache() throws Exception {
        Result r = nq(java.util.Map.of("NQ_AOT", "off"), "generate", "x");
        assertEquals(0, r.exit(), r.err());
        assertEquals("variant-A generate x\n", r.out());
        assertEquals(List.of(), caches());
    }

    @Test
    void theCacheIsOnByDefault() throws Exception {
        Result r = nq(java.util.Map.of("NQ_AOT", ""), "generate", "x"); // empty is unset for the launcher
        assertEquals(0, r.exit(), r.err());
        assertEquals("variant-A generate x\n", r.out());
        assertEquals(1, caches().size(), "the first generate recorded the cache");
    }

    @Test
    void anNqAotOtherThanOnOrOffIsRefusedInOneLine() throws Exception {
        Result r = nq(java.util.Map.of("NQ_AOT", "yes"), "generate", "x");
        assertEquals(2, r.exit());
        assertEquals("", r.out());
        assertEquals("nq: NQ_AOT must be on or off, not 'yes'\n", r.err());
        assertEquals(List.of(), caches());
    }
}
