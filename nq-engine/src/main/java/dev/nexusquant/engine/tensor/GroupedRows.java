package dev.nexusquant.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the layouts of rows in groups of {@link #ROWS} (one row per vector lane: {@link Q4kGroups}, {@link Q6kGroups},
 * {@link Q8Groups}) share: the group size, the group count, the offsets of the two-stream layout of the k-quants, and
 * the allocation of a grouped copy that gives way to the file's layout when native memory is short.
 *
 * <p>The two-stream layout ({@link Q4kGroups}, {@link Q6kGroups}): the quants of every group come first, group after
 * group, {@code quants} bytes per group and 256-value block; then the metadata (scales, mins, d) of every group,
 * {@code meta} bytes per group and block. Each stream runs forward as a row group is read.
 */
final class GroupedRows {

    /** Rows per group: one per lane of a 512-bit float vector. */
    static final int ROWS = 16;

    private GroupedRows() {
    }

    /**
     * Packed bytes a thread of the load takes at least ({@link Parallel#forRangeAtLoad}): below it, waking a second
     * thread saves less than it costs. The project model's matrices (0.3-1.5 MB) loaded faster on one thread in a cold
     * {@code ./nq generate} at load 8-15, where the kernel primer and the JIT want the other core (BENCHMARKS.md,
     * "Loading a model").
     */
    static final long LOAD_BYTES_PER_THREAD = 4L << 20;

    /** Groups a thread of the load packs at least, for a packed copy of {@code bytes} bytes in {@code groups} groups. */
    static int minGroupsPerThread(long bytes, int groups) {
        return (int) Math.max(1, Math.min(groups, (LOAD_BYTES_PER_THREAD * groups + bytes - 1) / Math.max(1, bytes)));
    }

    /** Groups of {@code rows} rows, the last one padded. */
    static int groups(int rows) {
        return (rows + ROWS - 1) / ROWS;
    }

    /** Bytes of a matrix in the two-stream layout, {@code quants} + {@code meta} bytes per group and 256-value block. */
    static long twoStreamBytes(int rows, int cols, int quants, int meta) {
        return (long) groups(rows) * (cols / 256) * (quants + meta);
    }

    /** Byte offset of the quants of group {@code g} in the two-stream layout. */
    static long twoStreamQuants(int g, int cols, int quants) {
        return (long) g * (cols / 256) * quants;
    }

    /** Byte offset of the metadata of group {@code g} in the two-stream layout of a matrix of {@code rows} rows. */
    static long twoStreamMeta(int g, int rows, int cols, int quants, int meta) {
        return (long) groups(rows) * (cols / 256) * quants + (long) g * (cols / 256) * meta;
    }

    /**
     * {@code bytes} zeroed bytes (the padding rows of a last group stay 0) aligned to 64 in {@code arena} (the model's
     * is a {@link HugePageArena}), or null when the JVM's limit on native memory ({@code -XX:MaxDirectMemorySize})
     * leaves no room: nothing is allocated then, and the caller keeps the file's layout.
     */
    static MemorySegment allocateOrNull(Arena arena, long bytes) {
        try {
            return arena.allocate(bytes, 64);
        } catch (OutOfMemoryError e) { // "Cannot reserve ... bytes of direct buffer memory"
            return null;
        }
    }
}
