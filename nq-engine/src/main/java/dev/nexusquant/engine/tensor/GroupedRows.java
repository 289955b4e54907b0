package dev.nexusquant.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the layouts of rows in groups of {@link #ROWS} (one row per vector lane: {@link Q4kGroups}, {@link Q8Groups})
 * share: the group size, the group count, and the allocation of a grouped copy that gives way to the file's layout
 * when native memory is short.
 */
final class GroupedRows {

    /** Rows per group: one per lane of a 512-bit float vector. */
    static final int ROWS = 16;

    private GroupedRows() {
    }

    /** Groups of {@code rows} rows, the last one padded. */
    static int groups(int rows) {
        return (rows + ROWS - 1) / ROWS;
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
