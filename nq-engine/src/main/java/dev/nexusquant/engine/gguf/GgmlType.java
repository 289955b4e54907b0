package dev.nexusquant.engine.gguf;

/**
 * Tensor element types of GGML, with their ids, block sizes (elements per block) and block byte sizes. Only the
 * types whose layout this project knows are listed; {@link #supported} marks those the engine can compute with.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 2 + 16, true),          // fp16 scale d, 16 bytes of nibbles: x = (q - 8) * d
    Q4_1(3, 32, 2 + 2 + 16, false),
    Q5_0(6, 32, 2 + 4 + 16, false),
    Q5_1(7, 32, 2 + 2 + 4 + 16, false),
    Q8_0(8, 32, 2 + 32, true),          // fp16 scale d, 32 int8: x = q * d
    Q8_1(9, 32, 2 + 2 + 32, false),
    Q2_K(10, 256, 16 + 64 + 2 + 2, false),
    Q3_K(11, 256, 32 + 64 + 12 + 2, false),
    Q4_K(12, 256, 2 + 2 + 12 + 128, true), // d, dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
    Q5_K(13, 256, 2 + 2 + 12 + 32 + 128, false),
    Q6_K(14, 256, 128 + 64 + 16 + 2, true), // ql, qh, int8 scales, d
    Q8_K(15, 256, 4 + 256 + 32, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    BF16(30, 1, 2, true);

    public final int id;
    public final int blockSize;
    public final int typeSize;
    /** Whether the engine has kernels for this type. */
    public final boolean supported;

    GgmlType(int id, int blockSize, int typeSize, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.supported = supported;
    }

    /** The type of an id, or null when this project does not know its layout. */
    public static GgmlType ofId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) return t;
        }
        return null;
    }

    /** Bytes that {@code elements} elements take; {@code elements} must be a multiple of {@link #blockSize}. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + ": " + elements + " elements is not a multiple of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }
}
