package dev.nexusquant.store;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * The embedded default store: one file per key in a directory.
 *
 * <ul>
 *   <li>Atomic writes: a value is written to a temporary file ({@code .tmp-*}, a name no key can have) and moved over
 *       the key's file in one step, so a reader (of this process or another) sees the old value or the new one whole,
 *       and a crash leaves at worst a stray temporary file, which is never read and is removed once it is old.</li>
 *   <li>A size cap with LRU eviction: a file's modification time is its last use (set on put and on get); after a put
 *       that takes the directory over the cap, the least recently used files are deleted until it fits.</li>
 *   <li>Keys follow {@link StoreKeys}: a key is always a plain file name inside the directory.</li>
 * </ul>
 * Several processes may share a directory; the cap is then kept by whichever writes.
 */
public final class DirectoryKvStore implements KvStore {

    static final String TEMP_PREFIX = ".tmp-";
    /** Temporary files older than this are left over from a crash and are removed when a store opens. */
    static final long STALE_TEMP_MILLIS = 3_600_000;

    private final Path dir;
    private final long maxBytes;
    private long lastStamp;
    private boolean closed;

    /**
     * Opens (creating it if needed) the store in {@code dir}, holding at most {@code maxBytes} bytes of values.
     *
     * @throws KvStoreException UNAVAILABLE when the directory cannot be created or is not a writable directory
     */
    public DirectoryKvStore(Path dir, long maxBytes) throws KvStoreException {
        if (maxBytes <= 0) throw new IllegalArgumentException("directory store cap must be positive: " + maxBytes);
        this.dir = dir.toAbsolutePath().normalize();
        this.maxBytes = maxBytes;
        try {
            Files.createDirectories(this.dir);
        } catch (IOException e) {
            throw new KvStoreException(KvStoreException.Kind.UNAVAILABLE, "cannot create the store directory " + this.dir + ": " + e, e);
        }
        if (!Files.isDirectory(this.dir) || !Files.isWritable(this.dir)) {
            throw new KvStoreException(KvStoreException.Kind.UNAVAILABLE, this.dir + " is not a writable directory");
        }
        removeStaleTemps();
    }

    public Path directory() {
        return dir;
    }

    public long maxBytes() {
        return maxBytes;
    }

    @Override
    public synchronized byte[] get(String key) throws KvStoreException {
        Path f = file(key);
        byte[] v;
        try {
            v = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw io("read", key, e);
        }
        touch(f);
        return v;
    }

    @Override
    public synchronized void put(String key, byte[] value) throws KvStoreException {
        Path f = file(key);
        if (value.length > maxBytes) {
            throw new KvStoreException(KvStoreException.Kind.IO, "value of " + value.length + " bytes for key " + key
                    + " is larger than the cap of " + describe() + " (" + maxBytes + " bytes)");
        }
        Path tmp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
        try {
            Files.write(tmp, value);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the temporary file is removed later as stale
            }
            throw io("write", key, e);
        }
        touch(f);
        evict(f);
    }

    @Override
    public synchronized boolean contains(String key) throws KvStoreException {
        return Files.isRegularFile(file(key));
    }

    @Override
    public synchronized boolean delete(String key) throws KvStoreException {
        try {
            return Files.deleteIfExists(file(key));
        } catch (IOException e) {
            throw io("delete", key, e);
        }
    }

    /** Bytes of values held now (every entry file). */
    public synchronized long bytes() throws KvStoreException {
        long b = 0;
        for (Entry e : entries()) b += e.size;
        return b;
    }

    /** Keys held now, least recently used first. */
    public synchronized List<String> keysByLastUse() throws KvStoreException {
        List<String> keys = new ArrayList<>();
        for (Entry e : entries()) keys.add(e.path.getFileName().toString());
        return keys;
    }

    @Override
    public String describe() {
        return "dir:" + dir;
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    private Path file(String key) throws KvStoreException {
        if (closed) throw new IllegalStateException(describe() + " is closed");
        StoreKeys.check(key);
        Path f = dir.resolve(key);
        if (!f.getParent().equals(dir)) throw new IllegalArgumentException("store key " + key + " leaves the directory");
        return f;
    }

    /** Marks a file as just used: the modification time is strictly increasing within this store. */
    private void touch(Path f) {
        long now = Math.max(System.currentTimeMillis(), lastStamp + 1);
        lastStamp = now;
        try {
            Files.setLastModifiedTime(f, FileTime.fromMillis(now));
        } catch (IOException e) {
            // deleted meanwhile by another process: nothing to mark
        }
    }

    private record Entry(Path path, long size, long used) {
    }

    /** Entry files (not temporary files), least recently used first. */
    private List<Entry> entries() throws KvStoreException {
        List<Entry> list = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (p.getFileName().toString().startsWith(".")) continue;
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    if (a.isRegularFile()) list.add(new Entry(p, a.size(), a.lastModifiedTime().toMillis()));
                } catch (NoSuchFileException e) {
                    // deleted meanwhile
                }
            }
        } catch (IOException e) {
            throw new KvStoreException(KvStoreException.Kind.IO, "cannot list " + dir + ": " + e, e);
        }
        list.sort(Comparator.comparingLong(Entry::used).thenComparing(e -> e.path.getFileName().toString()));
        return list;
    }

    /** Deletes least recently used entries (never {@code keep}) until the directory fits the cap. */
    private void evict(Path keep) throws KvStoreException {
        List<Entry> list = entries();
        long total = 0;
        for (Entry e : list) total += e.size;
        for (Entry e : list) {
            if (total <= maxBytes) break;
            if (e.path.equals(keep)) continue;
            try {
                Files.deleteIfExists(e.path);
            } catch (IOException ex) {
                throw new KvStoreException(KvStoreException.Kind.IO, "cannot evict " + e.path + ": " + ex, ex);
            }
            total -= e.size;
        }
    }

    private void removeStaleTemps() {
        long limit = System.currentTimeMillis() - STALE_TEMP_MILLIS;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
            for (Path p : ds) {
                try {
                    if (Files.getLastModifiedTime(p).toMillis() < limit) Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // another process removed it, or it is not ours to remove
                }
            }
        } catch (IOException ignored) {
            // listing failed: the next open tries again
        }
    }

    private KvStoreException io(String op, String key, IOException e) {
        KvStoreException.Kind kind = e instanceof AccessDeniedException ? KvStoreException.Kind.UNAVAILABLE : KvStoreException.Kind.IO;
        return new KvStoreException(kind, "cannot " + op + " key " + key + " in " + describe() + ": " + e, e);
    }
}
