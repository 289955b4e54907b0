package dev.nexusquant.engine.gguf;

import java.lang.foreign.MemorySegment;

/**
 * A tensor of a GGUF file: its name, type, shape and data (a slice of the mapped file).
 *
 * @param name   tensor name, such as {@code blk.0.attn_q.weight}
 * @param type   element type
 * @param dims   shape in GGML order: {@code dims[0]} is the innermost (contiguous) dimension, the length of a row
 * @param offset offset of the data from the start of the file's data section
 * @param data   the tensor's bytes
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset, MemorySegment data) {

    /** Number of elements. */
    public long elements() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** Length of a row (the innermost dimension). */
    public long rowLength() {
        return dims[0];
    }

    /** Number of rows: the product of every dimension but the first. */
    public long rows() {
        long n = 1;
        for (int i = 1; i < dims.length; i++) n *= dims[i];
        return n;
    }

    public long byteSize() {
        return data.byteSize();
    }

    public String shape() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dims[i]);
        }
        return sb.append(']').toString();
    }
}
