package dev.nexusquant.engine.gguf;

import dev.nexusquant.engine.tensor.Quants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files: metadata of every value type and tensors of any type (given as raw blocks, or as floats that
 * are quantized with {@link Quants#quantize}). Used by tests to write small random-weight models of any shape and type,
 * and by benchmarks.
 */
public final class GgufWriter {

    private record Tensor(String name, GgmlType type, long[] dims, byte[] data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int version = 3;

    public GgufWriter version(int v) {
        this.version = v;
        return this;
    }

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValue.string(v));
    }

    public GgufWriter putU32(String key, int v) {
        return put(key, GgufValue.u32(v));
    }

    public GgufWriter putF32(String key, float v) {
        return put(key, GgufValue.f32(v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValue.of(GgufValueType.BOOL, v));
    }

    public GgufWriter putStrings(String key, String[] v) {
        return put(key, GgufValue.array(GgufValueType.STRING, v));
    }

    public GgufWriter putFloats(String key, float[] v) {
        return put(key, GgufValue.array(GgufValueType.FLOAT32, v));
    }

    public GgufWriter putInts(String key, int[] v) {
        return put(key, GgufValue.array(GgufValueType.INT32, v));
    }

    /** Adds a tensor from raw bytes of its type. {@code dims[0]} is the row length. */
    public GgufWriter tensor(String name, GgmlType type, long[] dims, byte[] data) {
        tensors.add(new Tensor(name, type, dims.clone(), data));
        return this;
    }

    /** Adds a tensor from floats, encoded in {@code type}. */
    public GgufWriter tensor(String name, GgmlType type, long[] dims, float[] values) {
        return tensor(name, type, dims, Quants.quantize(type, values));
    }

    private int alignment() {
        GgufValue a = metadata.get("general.alignment");
        return a == null ? GgufFile.DEFAULT_ALIGNMENT : (int) a.asLong();
    }

    public byte[] toBytes() {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            write(bos);
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public void write(Path path) throws IOException {
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            write(os);
        }
    }

    public void write(OutputStream os) throws IOException {
        Out out = new Out(os);
        int align = alignment();
        out.i32(GgufFile.MAGIC);
        out.i32(version);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type().id);
            value(out, e.getValue());
        }
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors) {
            offsets.add(offset);
            offset = (offset + t.data.length + align - 1) / align * align;
        }
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            out.string(t.name);
            out.i32(t.dims.length);
            for (long d : t.dims) out.i64(d);
            out.i32(t.type.id);
            out.i64(offsets.get(i));
        }
        out.pad(align);
        long dataStart = out.count;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            out.pad(align);
            if (out.count - dataStart != offsets.get(i)) throw new IllegalStateException("offset mismatch");
            out.bytes(t.data);
        }
        out.flush();
    }

    private static void value(Out out, GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> out.i8((Byte) v.value());
            case UINT16, INT16 -> out.i16((Short) v.value());
            case UINT32, INT32 -> out.i32((Integer) v.value());
            case UINT64, INT64 -> out.i64((Long) v.value());
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) v.value()));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits((Double) v.value()));
            case BOOL -> out.i8((byte) ((Boolean) v.value() ? 1 : 0));
            case STRING -> out.string((String) v.value());
            case ARRAY -> {
                out.i32(v.elementType().id);
                out.i64(v.length());
                switch (v.value()) {
                    case byte[] a -> { for (byte x : a) out.i8(x); }
                    case short[] a -> { for (short x : a) out.i16(x); }
                    case int[] a -> { for (int x : a) out.i32(x); }
                    case long[] a -> { for (long x : a) out.i64(x); }
                    case float[] a -> { for (float x : a) out.i32(Float.floatToRawIntBits(x)); }
                    case double[] a -> { for (double x : a) out.i64(Double.doubleToRawLongBits(x)); }
                    case boolean[] a -> { for (boolean x : a) out.i8((byte) (x ? 1 : 0)); }
                    case String[] a -> { for (String x : a) out.string(x); }
                    case GgufValue[] a -> {
                        for (GgufValue x : a) value(out, x);
                    }
                    default -> throw new IllegalArgumentException("array value of " + v.value().getClass());
                }
            }
        }
    }

    private static final class Out {
        final OutputStream os;
        final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long count;

        Out(OutputStream os) {
            this.os = os;
        }

        void i8(byte b) throws IOException {
            os.write(b);
            count++;
        }

        void i16(short v) throws IOException {
            buf.clear();
            buf.putShort(v);
            os.write(buf.array(), 0, 2);
            count += 2;
        }

        void i32(int v) throws IOException {
            buf.clear();
            buf.putInt(v);
            os.write(buf.array(), 0, 4);
            count += 4;
        }

        void i64(long v) throws IOException {
            buf.clear();
            buf.putLong(v);
            os.write(buf.array(), 0, 8);
            count += 8;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            os.write(b);
            count += b.length;
        }

        void pad(int align) throws IOException {
            while (count % align != 0) i8((byte) 0);
        }

        void flush() throws IOException {
            os.flush();
        }
    }
}
