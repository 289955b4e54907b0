package dev.nexusquant.kv;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.ModelIdentity;
import dev.nexusquant.engine.tensor.Parallel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;

/**
 * Where {@code basis=auto} finds a model's KLT bases: a {@link ModelBasis} fitted once per model (1,024 tokens the
 * model samples from BOS, seed 42: no calibration data) and kept in a cache directory under a name made from the
 * model's identity (its weights' fingerprint, {@link ModelIdentity}) and the key domain, so that every later run with
 * the same model reads the file instead of fitting again.
 *
 * <p>The directory: the system property {@code nq.klt.cache}, else the environment variable {@code NQ_CACHE_DIR}
 * (then its subdirectory {@code klt}), else {@code ~/.cache/nexusquant/klt}. The file is written under a temporary
 * name and moved into place, so a reader never sees half a file.
 */
public final class ModelBasisCache {

    /** Tokens sampled to fit a basis, as {@code KltModelBasis} makes them by default. */
    public static final int TOKENS = 1024;
    public static final long SEED = 42;

    private ModelBasisCache() {
    }

    /** The cache directory (not created). */
    public static Path directory() {
        String p = System.getProperty("nq.klt.cache");
        if (p != null && !p.isBlank()) return Path.of(p);
        String env = System.getenv("NQ_CACHE_DIR");
        if (env != null && !env.isBlank()) return Path.of(env, "klt");
        return Path.of(System.getProperty("user.home"), ".cache", "nexusquant", "klt");
    }

    /** The file the bases of {@code model} for this key domain live in. */
    public static Path fileFor(Model model, boolean preRope) {
        ModelIdentity id = model.identity();
        String hash = HexFormat.of().formatHex(id.weights(), 0, 12);
        return directory().resolve(id.architecture() + "-" + hash + (preRope ? "-pre" : "-post") + ".klt");
    }

    /**
     * The path of the model's bases for this key domain, fitting and writing them first when the cache has none
     * (17-31 s for a model of tens of millions of parameters on one core; stderr says when it starts and what it made).
     * Several processes may ask at once: they take turns on a lock file beside the bases (a process that waits finds
     * the file the first one wrote), and the file is written under a temporary name and renamed into place, so a reader
     * never sees half a file even where the file system offers no locks.
     *
     * @throws UncheckedIOException when the directory or file cannot be written
     */
    public static synchronized Path resolve(Model model, boolean preRope) {
        Path file = fileFor(model, preRope);
        if (Files.isRegularFile(file)) return file;
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel lockFile = FileChannel.open(file.resolveSibling(file.getFileName() + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = lockOrNull(lockFile)) {
                if (Files.isRegularFile(file)) return file; // another process fitted them while this one waited
                fitInto(model, preRope, file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("basis=auto: cannot write the model's KLT bases to " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** An exclusive lock on the file, or null where the file system has none (the rename still keeps readers safe). */
    private static FileLock lockOrNull(FileChannel ch) {
        try {
            return ch.lock();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static void fitInto(Model model, boolean preRope, Path file) throws IOException {
        int tokens = Math.min(TOKENS, model.kvLayout().contextLength());
        System.err.printf("basis=auto: fitting the KLT bases of this model (keys %s-RoPE) from %d tokens it samples, once per"
                + " model and machine (tens of seconds), into %s%n", preRope ? "pre" : "post", tokens, file);
        long t0 = System.nanoTime();
        ModelBasis.Rows rows = ModelBasis.sample(model, tokens, SEED);
        long t1 = System.nanoTime();
        ModelBasis b = ModelBasis.fit(model.kvLayout(), rows, SEED, preRope);
        long t2 = System.nanoTime();
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            b.write(tmp);
            try { // readable by every user of a shared cache, as the model file is (temporary files are private)
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its default permissions stay
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        System.err.printf("basis=auto: fitted in %.1f s (sampling %.1f s, %d bases %.1f s, threads %d): %d bytes of bases, %s%n",
                (System.nanoTime() - t0) / 1e9, (t1 - t0) / 1e9, 2 * model.kvLayout().layers() * model.kvLayout().kvHeads(),
                (t2 - t1) / 1e9, Parallel.threads(), b.bytes(), file);
    }
}
