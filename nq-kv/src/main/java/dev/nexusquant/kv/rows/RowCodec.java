package dev.nexusquant.kv.rows;

/**
 * Quantizes blocks of rows of one attention head (one row per cached token, {@code dim} values each) into an
 * immutable in-memory form that attention reads back one block at a time.
 *
 * <p>This is the one small interface where the KV cache meets a quantizer: NexusQuant's E8 lattice codes and every
 * baseline (fp16, fp8, q8_0, q4_0, KIVI, TurboQuant-style) implement it, so that the same cache, attention code and
 * byte accounting serve all of them. The rows a codec sees are already in the cache's storage domain (rotated,
 * centred, RoPE undone, as the cache is configured); the codec only quantizes.
 *
 * <p>Implementations are immutable and thread-safe; {@link #encode} allocates exactly the arrays the block keeps.
 */
public interface RowCodec {

    /** Values per row. */
    int dim();

    /**
     * Encodes {@code n} rows.
     *
     * @param rows [n][dim] row-major, starting at {@code off}
     * @return the encoded block; it copies what it needs and keeps no reference to {@code rows}
     */
    EncodedRows encode(float[] rows, int off, int n);

    /** Bytes a block of {@code n} rows holds, computed without encoding (the same number {@link EncodedRows#bytes()} reports). */
    long bytesFor(int n);

    /** A short description such as {@code "e8:2bit"} or {@code "q4_0"}. */
    String describe();

    /** True when decode(encode(x)) == x bit for bit (fp32 rows). */
    default boolean lossless() {
        return false;
    }
}
