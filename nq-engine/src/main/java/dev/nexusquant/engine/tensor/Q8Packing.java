package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q8_0 weights rearranged at load for the 16-lane decode kernel ({@link VectorKernels#dotQ8_0Packed}). In the file a
 * block is an fp16 scale followed by 32 int8 values (34 bytes), so a 16-lane kernel loads 16 bytes at a time and widens
 * them with a cross-lane instruction. Packed, the quants of all rows come first, then the scales of all rows as floats:
 *
 * <pre>
 * [rows][cols] int8 quants | [rows][cols / 32] float32 scales
 * quants of blocks 2c and 2c + 1 of a row (64 bytes at 64c): byte 4i + k = block (2c + k / 2), value i + 16 (k % 2)
 * </pre>
 *
 * so one 64-byte load seen as 16 int lanes holds, in byte {@code k} of every lane, 16 consecutive values of one block:
 * each is taken with two shifts (no widening shuffle), in the order of {@code x}. Packed weights take 1.125 bytes per
 * value against 1.0625 in the file (scales as float32: converting fp16 scales in the kernel cost a quarter of its speed
 * in a scratch benchmark). The scales are a region of their own: with each row's scales after its quants, the kernel
 * read weights from memory at half the speed (RowThroughput Q8_0 2048 512: 4.5-5.6 against 9.1-10.2 GB/s for the file's
 * layout, load 10), two streams that each run forward being what the hardware prefetchers follow. Only matrices whose
 * rows are a whole number of 64-value chunks are packed.
 */
final class Q8Packing {

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** [64]: the value (0..63, as in the file's two blocks) that goes to packed byte {@code j} of a 64-byte chunk. */
    static final int[] SOURCE = source();

    private Q8Packing() {
    }

    private static int[] source() {
        int[] s = new int[64];
        for (int i = 0; i < 16; i++) {
            for (int k = 0; k < 4; k++) s[4 * i + k] = 32 * (k / 2) + i + 16 * (k % 2);
        }
        return s;
    }

    /** Whether {@code w} can be packed: Q8_0 with rows of whole 64-value chunks. */
    static boolean packable(Weights w) {
        return w.type() == GgmlType.Q8_0 && w.cols() % 64 == 0;
    }

    /**
     * Values from which {@link VectorKernels#prepare} packs a matrix. Packing runs before the JIT has compiled it, so
     * it costs more per byte on a small model: the project's model (37 M values, matrices of 0.13-4.2 M) loaded in
     * 1.0-2.0 s with every matrix packed against 0.26-0.8 s before (EngineBench load_s, load 9-12), for a decode gain
     * of its 512-value rows within the noise of those runs; from 1 M values on only its embedding / output matrix is
     * packed. A 1B model's matrices (1-262 M values) are all packed.
     */
    static final long MIN_VALUES = 1L << 20;

    /** Whether {@link VectorKernels#prepare} packs {@code w}: packable and at least {@link #MIN_VALUES} values. */
    static boolean worthPacking(Weights w) {
        return packable(w) && (long) w.rows() * w.cols() >= MIN_VALUES;
    }

    /** Bytes of a packed matrix. */
    static long bytes(int rows, int cols) {
        return (long) rows * (cols + 4L * (cols / 32));
    }

    /** Byte offset of the quants of row {@code r}. */
    static long quants(int r, int cols) {
        return (long) r * cols;
    }

    /** Byte offset of the scales of row {@code r} in a matrix of {@code rows} rows. */
    static long scales(int r, int rows, int cols) {
        return (long) rows * cols + 4L * r * (cols / 32);
    }

    /**
     * {@code w} with a packed copy of its rows allocated in {@code arena} (rows spread over the engine's threads), or
     * {@code w} as it is when the JVM's limit on native memory ({@code -XX:MaxDirectMemorySize}, by default the
     * maximum heap size) leaves no room for the copy: its rows are then read from the file, more slowly.
     */
    static Weights pack(Weights w, Arena arena) {
        if (!packable(w)) throw new IllegalArgumentException(w.name() + ": not packable: " + w.type() + " x " + w.cols());
        int rows = w.rows(), cols = w.cols();
        MemorySegment p;
        try {
            p = arena.allocate(bytes(rows, cols), 64);
        } catch (OutOfMemoryError e) { // "Cannot reserve ... bytes of direct buffer memory": nothing was allocated
            return w;
        }
        Parallel.forRange(rows, Parallel.threads(), 64, (from, to) -> {
            int rowBytes = Math.toIntExact(w.rowBytes());
            byte[] src = new byte[rowBytes + 64], q = new byte[cols]; // 64 bytes of room for the last 64-byte load
            float[] sc = new float[cols / 32];
            for (int r = from; r < to; r++) {
                MemorySegment.copy(w.data(), ValueLayout.JAVA_BYTE, w.rowOffset(r), src, 0, rowBytes);
                Wide.packRow(src, cols, q, sc);
                MemorySegment.copy(q, 0, p, ValueLayout.JAVA_BYTE, quants(r, cols), cols);
                MemorySegment.copy(sc, 0, p, F32, scales(r, rows, cols), sc.length);
            }
        });
        return w.withPacked(p);
    }

    /**
     * {@link #packRow} with 64-byte vectors (the scalar loop took 6-8 s for a 1.3 GB model at load 10): the quants of
     * the two blocks of a chunk are loaded as two vectors and interleaved by one two-vector byte shuffle. A class of
     * its own so that {@link Q8Packing} loads without the Vector API.
     */
    static final class Wide {
        private static final jdk.incubator.vector.VectorSpecies<Byte> B = jdk.incubator.vector.ByteVector.SPECIES_512;
        /** Lane j takes lane SOURCE[j] of block 2c's vector, or (as an exceptional index) of block 2c + 1's. */
        private static final jdk.incubator.vector.VectorShuffle<Byte> INTERLEAVE =
                jdk.incubator.vector.VectorShuffle.fromOp(B, j -> SOURCE[j] < 32 ? SOURCE[j] : SOURCE[j] - 32 - 64);

        private Wide() {
        }

        /** As {@link Q8Packing#packRow}; {@code src} has 64 bytes of room after the row. */
        static void packRow(byte[] src, int cols, byte[] q, float[] sc) {
            MemorySegment s = MemorySegment.ofArray(src);
            for (int b = 0; b < cols / 32; b++) sc[b] = Float.float16ToFloat(s.get(I16, 34L * b));
            for (int c = 0; c < cols; c += 64) {
                int a = 34 * (c / 32) + 2;
                jdk.incubator.vector.ByteVector va = jdk.incubator.vector.ByteVector.fromArray(B, src, a);
                jdk.incubator.vector.ByteVector vb = jdk.incubator.vector.ByteVector.fromArray(B, src, a + 34);
                va.rearrange(INTERLEAVE, vb).intoArray(q, c);
            }
        }
    }

    /**
     * One row: {@code src} in the file's layout ({@code cols / 32} blocks of 34 bytes) to packed quants {@code q}
     * ([cols]) and scales {@code sc} ([cols / 32]).
     */
    static void packRow(byte[] src, int cols, byte[] q, float[] sc) {
        MemorySegment s = MemorySegment.ofArray(src);
        int[] source = SOURCE;
        for (int b = 0; b < cols / 32; b++) sc[b] = Float.float16ToFloat(s.get(I16, 34L * b));
        for (int c = 0; c < cols; c += 64) {
            int a = 34 * (c / 32) + 2; // the 32 values of block 2c start here; block 2c + 1's 34 bytes later
            for (int j = 0; j < 64; j++) {
                int v = source[j];
                q[c + j] = src[a + 34 * (v / 32) + v % 32];
            }
        }
    }
}
