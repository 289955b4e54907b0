package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_K weights rearranged at load for the 16-lane decode kernel ({@link VectorKernels#dotQ4_KPacked}). In the file a
 * block of 256 values is 144 bytes: fp16 {@code d} and {@code dmin}, 12 bytes holding eight 6-bit scales and eight 6-bit
 * mins, then 128 bytes of nibbles; so the kernel's two 64-byte quant loads straddle cache lines in three blocks out of
 * four, and each block's scales take shuffles, shifts and masks to unpack. Packed, the quants of all rows come first,
 * then per block 24 bytes of metadata with the scales already unpacked:
 *
 * <pre>
 * [rows][cols / 256][128] quant bytes, each block's as in the file (64-byte aligned: one cache line per load)
 * [rows][cols / 256][24]  scale_0..7, min_0..7 (unsigned bytes), float32 d, float32 -dmin
 * </pre>
 *
 * 152 bytes per block against 144 in the file (+5.6%). The metadata is a region of its own, as for {@link Q8Packing}
 * (two streams that each run forward).
 */
final class Q4kPacking {

    /** Metadata bytes per block. */
    static final int META = 24;
    static final ValueLayout.OfFloat F32 = Q8Packing.F32;

    private Q4kPacking() {
    }

    /** Whether {@code w} can be packed: Q4_K (whole 256-value blocks by definition). */
    static boolean packable(Weights w) {
        return w.type() == GgmlType.Q4_K;
    }

    /** Bytes of a packed matrix. */
    static long bytes(int rows, int cols) {
        return (long) rows * (cols / 256) * (128 + META);
    }

    /** Byte offset of the quants of row {@code r}. */
    static long quants(int r, int cols) {
        return (long) r * (cols / 2);
    }

    /** Byte offset of the metadata of row {@code r} in a matrix of {@code rows} rows. */
    static long meta(int r, int rows, int cols) {
        return (long) rows * (cols / 2) + (long) META * r * (cols / 256);
    }

    /**
     * {@code w} with a packed copy of its rows allocated in {@code arena} (rows spread over the engine's threads), or
     * {@code w} as it is when the JVM's limit on native memory leaves no room for the copy.
     */
    static Weights pack(Weights w, Arena arena) {
        if (!packable(w)) throw new IllegalArgumentException(w.name() + ": not packable: " + w.type());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p;
        try {
            p = arena.allocate(bytes(rows, cols), 64);
        } catch (OutOfMemoryError e) { // "Cannot reserve ... bytes of direct buffer memory": nothing was allocated
            return w;
        }
        Parallel.forRange(rows, Parallel.threads(), 64, (from, to) -> {
            for (int r = from; r < to; r++) packRow(w.data(), w.rowOffset(r), cols, p, quants(r, cols), meta(r, rows, cols));
        });
        return w.withPacked(p);
    }

    /** One row: {@code cols / 256} blocks of the file's layout at {@code src} to quants at {@code q}, metadata at {@code m}. */
    static void packRow(MemorySegment src, long off, int cols, MemorySegment dst, long q, long m) {
        for (int b = 0; b < cols / 256; b++, off += 144, q += 128, m += META) {
            MemorySegment.copy(src, off + 16, dst, q, 128);
            for (int j = 0; j < 8; j++) {
                dst.set(ValueLayout.JAVA_BYTE, m + j, (byte) Quants.q4kScale(src, off + 4, j));
                dst.set(ValueLayout.JAVA_BYTE, m + 8 + j, (byte) Quants.q4kMin(src, off + 4, j));
            }
            dst.set(F32, m + 16, Quants.f16(src, off));
            dst.set(F32, m + 20, -Quants.f16(src, off + 2));
        }
    }
}
