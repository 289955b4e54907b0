package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix as stored in a GGUF file: {@code rows} rows of {@code cols} values of one {@link GgmlType}, row-major,
 * each row a whole number of blocks. A matrix-vector product computes {@code out[r] = row_r . x}.
 *
 * @param name name of the tensor, for messages
 * @param type element type
 * @param rows number of rows (output features)
 * @param cols length of a row (input features), a multiple of the type's block size
 * @param data   {@code rows * rowBytes()} bytes
 * @param packed null, or the same rows rearranged for a kernel ({@link Q8Groups}, {@link Q4kGroups}, {@link Q6kGroups}: Q8_0, Q4_K and Q6_K rows in groups of 16, for 16 lanes), which reads
 *               them instead of {@code data}; for F16, {@code data} itself, which marks its values as all finite
 *               ({@link HalfRows})
 */
public record Weights(String name, GgmlType type, int rows, int cols, MemorySegment data, MemorySegment packed) {

    public Weights {
        if (rows <= 0 || cols <= 0 || cols % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": bad shape " + rows + " x " + cols + " for " + type);
        }
        if (data.byteSize() != (long) rows * type.bytesFor(cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + " x " + cols + " " + type);
        }
        if (packed != null && packed.byteSize() != packedBytes(type, rows, cols)) {
            throw new IllegalArgumentException(name + ": " + packed.byteSize() + " packed bytes for " + rows + " x " + cols + " " + type);
        }
    }

    /** Bytes of the packed form of a matrix of this type and shape, or -1 where the type has none. */
    private static long packedBytes(GgmlType type, int rows, int cols) {
        return switch (type) {
            case Q8_0 -> Q8Groups.bytes(rows, cols);
            case Q4_K -> Q4kGroups.bytes(rows, cols);
            case Q6_K -> Q6kGroups.bytes(rows, cols);
            case F16 -> 2L * rows * cols;
            default -> -1;
        };
    }

    /** Weights read from {@code data} only. */
    public Weights(String name, GgmlType type, int rows, int cols, MemorySegment data) {
        this(name, type, rows, cols, data, null);
    }

    /** These weights with {@code packed} rows beside the file's. */
    Weights withPacked(MemorySegment packed) {
        return new Weights(name, type, rows, cols, data, packed);
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.bytesFor(cols);
    }

    /** Byte offset of row {@code r} in {@link #data}. */
    public long rowOffset(int r) {
        return r * rowBytes();
    }
}
