package dev.nexusquant.store;

/**
 * A store of byte values by string key: the place where compressed KV chunks outlive the process that built them.
 * Keys are 1 to {@link StoreKeys#MAX_LENGTH} characters of {@code [A-Za-z0-9._-]}, not starting with a dot
 * ({@link StoreKeys#check}); values are any bytes. Implementations are thread-safe.
 *
 * <p>A store gives back the bytes it was given or nothing; it does not promise that they were not damaged on the way
 * (a disk, a network, another program writing the same Redis): values that matter carry their own check
 * ({@link CheckedValue}). Every failure to reach or use the store is a {@link KvStoreException}; none hangs, none
 * returns a wrong value silently.
 */
public interface KvStore extends AutoCloseable {

    /** The value stored under {@code key}, or null when there is none. */
    byte[] get(String key) throws KvStoreException;

    /** Stores {@code value} under {@code key}, replacing what was there; readers see the old or the new value whole. */
    void put(String key, byte[] value) throws KvStoreException;

    /** Whether a value is stored under {@code key}. */
    boolean contains(String key) throws KvStoreException;

    /** Removes the value under {@code key}; true when there was one. */
    boolean delete(String key) throws KvStoreException;

    /** What this store is, for reports: {@code "dir:/path"} or {@code "redis://host:port"}. */
    String describe();

    /** Releases connections and files; the store cannot be used afterwards. */
    @Override
    void close();
}
