package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.SavedSession;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.model.SessionRestoreException;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * {@code generate --prompt-cache FILE}: the session to start from. When FILE holds a saved session of this model and
 * these KV settings whose tokens are a prefix of the prompt, it is restored (only the rest of the prompt is then
 * prefilled); otherwise a new session prefills the whole prompt and FILE is (re)written with it.
 *
 * <p>A damaged or foreign saved session (truncated, corrupt, of another model, of other settings, of another
 * prompt) is not an error: one line on stderr says what is wrong and that the whole prompt is prefilled, and FILE is
 * overwritten. A FILE that is not a saved session at all (another file given by mistake) is never overwritten: that
 * is an error (exit code 2).
 */
final class PromptCache {

    /** What happened to the file. */
    enum Outcome {
        /** It held exactly this prompt: nothing to prefill, nothing to write. */
        HIT,
        /** It held a prefix of this prompt: the rest was prefilled, the file rewritten with the whole prompt. */
        EXTENDED,
        /** There was no file: the whole prompt was prefilled and saved. */
        MISS,
        /** It was unusable (the stderr line says why): the whole prompt was prefilled and the file overwritten. */
        REBUILT
    }

    /** The session to continue, how it was obtained, and how long restoring took. */
    record Opened(Session session, Outcome outcome, int restoredTokens, double restoreSeconds) {
    }

    private static final byte[] MAGIC = {'N', 'Q', 'S', 'S'};

    private PromptCache() {
    }

    static Opened open(Model model, KvCacheFactory factory, Path file, int[] prompt, PrintWriter err) throws IOException {
        checkWritable(file);
        if (!Files.exists(file)) return new Opened(model.newSession(factory), Outcome.MISS, 0, 0);
        if (!Files.isRegularFile(file) || !looksLikeASession(file)) {
            throw new IllegalArgumentException("--prompt-cache " + file + " exists and is not a saved session; refusing to overwrite it");
        }
        long t0 = System.nanoTime();
        String problem;
        try {
            SavedSession info = Model.peek(file);
            String diff = info.model().differences(model.identity());
            if (!diff.isEmpty()) {
                problem = "saved from another model (" + diff + ")";
            } else if (!info.cacheSettings().equals(factory.describe())) {
                problem = "holds a KV cache with other settings (" + info.cacheSettings() + ")";
            } else if (info.tokens().length == 0 || !info.isPrefixOf(prompt)) {
                problem = "its " + info.tokens().length + " tokens are not a prefix of this prompt";
            } else {
                Session s = model.restore(file);
                if (s.position() == prompt.length && s.lastLogits() == null) { // saved without the logits to sample from
                    s.close();
                    problem = "holds the prompt but not its last logits";
                } else {
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    return new Opened(s, s.position() == prompt.length ? Outcome.HIT : Outcome.EXTENDED, s.position(), seconds);
                }
            }
        } catch (SessionRestoreException e) {
            problem = "unusable: " + e.getMessage();
        }
        err.println("[prompt cache " + file + ": " + problem + "; prefilling the whole prompt and overwriting it]");
        err.flush();
        return new Opened(model.newSession(factory), Outcome.REBUILT, 0, 0);
    }

    /**
     * Fails before any prefill when FILE could not be (re)written at the end: its directory is missing, not a
     * directory, or not writable (the file is written as a temporary file beside it, then moved over it).
     */
    static void checkWritable(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        String why = parent == null ? "it has no directory"
                : !Files.exists(parent) ? "its directory " + parent + " does not exist"
                : !Files.isDirectory(parent) ? parent + " is not a directory"
                : !Files.isWritable(parent) ? "its directory " + parent + " is not writable"
                : null;
        if (why != null) throw new FileSystemException(file.toString(), null, "--prompt-cache cannot be written: " + why);
    }

    /** Whether the file begins as a saved session does (an empty file, or one shorter than the magic, counts). */
    static boolean looksLikeASession(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(MAGIC.length);
        }
        return Arrays.equals(head, Arrays.copyOf(MAGIC, head.length));
    }

    /** Writes {@code bytes} to {@code file} atomically (a temporary file beside it, then moved over it). */
    static void write(Path file, byte[] bytes) throws IOException {
        Path abs = file.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName() + ".", ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
