package dev.nexusquant.kv;

/** Thrown before a KV cache would grow past its memory budget; the cache still holds what it held. */
public final class KvMemoryExceededException extends IllegalStateException {

    private final long budget;
    private final long needed;
    private final long tokensSeen;

    public KvMemoryExceededException(long budget, long needed, long tokensSeen) {
        super(String.format(java.util.Locale.ROOT,
                "KV cache memory budget of %s exceeded: %s needed after %d tokens", human(budget), human(needed),
                tokensSeen));
        this.budget = budget;
        this.needed = needed;
        this.tokensSeen = tokensSeen;
    }

    public long budget() {
        return budget;
    }

    public long needed() {
        return needed;
    }

    public long tokensSeen() {
        return tokensSeen;
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) return String.format(java.util.Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(java.util.Locale.ROOT, "%.2f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format(java.util.Locale.ROOT, "%.2f KiB", bytes / (double) (1L << 10));
        return bytes + " B";
    }
}
