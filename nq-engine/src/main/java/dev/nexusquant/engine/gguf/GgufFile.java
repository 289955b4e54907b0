package dev.nexusquant.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF file (versions 2 and 3), memory-mapped through the FFM API, so files above 2 GB work.
 *
 * <p>Layout (little-endian): magic {@code "GGUF"}, u32 version, u64 tensor count, u64 metadata count, the metadata
 * key/value pairs, the tensor infos (name, u32 dimension count, u64 dimensions, u32 type, u64 offset), padding to
 * {@code general.alignment} (32 by default), then the tensor data.
 *
 * <p>Every count, length, offset and extent is checked against the size of the file before it is used to allocate or
 * read anything, so a truncated or hostile file ends in a {@link GgufException} that names the field: never an
 * {@code OutOfMemoryError}, a hang or a crash.
 */
public final class GgufFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    public static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_DEPTH = 4;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file) throws GgufException {
        this.path = path;
        this.arena = arena;
        this.file = file;
        Reader r = new Reader(file);
        int magic = r.i32("magic");
        if (magic != MAGIC) {
            throw new GgufException("magic", String.format("not a GGUF file (first bytes 0x%08x, expected \"GGUF\")", magic));
        }
        version = r.i32("version");
        if (version != 2 && version != 3) {
            String hint = Integer.reverseBytes(version) <= 3 && Integer.reverseBytes(version) > 0 ? " (a big-endian file?)" : "";
            throw new GgufException("version", "unsupported GGUF version " + Integer.toUnsignedString(version)
                    + hint + "; versions 2 and 3 are supported");
        }
        long tensorCount = r.i64("tensor_count");
        long kvCount = r.i64("metadata_kv_count");
        // a metadata pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least 8 + 4 + 8 + 4 + 8
        r.checkCount("metadata_kv_count", kvCount, 13);
        r.checkCount("tensor_count", tensorCount, 32);

        Map<String, GgufValue> md = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string("metadata key #" + i);
            int typeId = r.i32(key + " (value type)");
            GgufValueType type = GgufValueType.ofId(typeId);
            if (type == null) {
                throw new GgufException(key, "unknown metadata value type " + Integer.toUnsignedString(typeId));
            }
            GgufValue value = r.value(key, type, 0);
            if (md.putIfAbsent(key, value) != null) {
                throw new GgufException(key, "metadata key appears twice");
            }
        }
        metadata = Collections.unmodifiableMap(md);

        GgufValue align = md.get("general.alignment");
        if (align == null) {
            alignment = DEFAULT_ALIGNMENT;
        } else {
            if (!align.type().isInteger()) {
                throw new GgufException("general.alignment", "must be an integer, is " + align.type());
            }
            long a = align.asLong();
            if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
                throw new GgufException("general.alignment", "must be a power of two, is " + a);
            }
            alignment = (int) a;
        }

        record Raw(String name, GgmlType type, long[] dims, long offset, long bytes) {}
        Raw[] raws = new Raw[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            String name = r.string("tensor #" + i + " name");
            int nDims = r.i32(name + " (dimension count)");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufException(name, "dimension count " + Integer.toUnsignedString(nDims) + " is not in 1.." + MAX_DIMS);
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = r.i64(name + " (dimension " + d + ")");
                if (dims[d] <= 0 || dims[d] > file.byteSize() * 8) {
                    throw new GgufException(name, "dimension " + d + " is " + Long.toUnsignedString(dims[d])
                            + ", impossible in a file of " + file.byteSize() + " bytes");
                }
                try {
                    elements = Math.multiplyExact(elements, dims[d]);
                } catch (ArithmeticException e) {
                    throw new GgufException(name, "element count overflows");
                }
            }
            int typeId = r.i32(name + " (type)");
            GgmlType type = GgmlType.ofId(typeId);
            if (type == null) {
                throw new GgufException(name, "unknown tensor type id " + Integer.toUnsignedString(typeId));
            }
            if (dims[0] % type.blockSize != 0) {
                throw new GgufException(name, "row length " + dims[0] + " is not a multiple of the " + type
                        + " block size " + type.blockSize);
            }
            long bytes;
            try {
                bytes = type.bytesFor(elements);
            } catch (ArithmeticException e) {
                throw new GgufException(name, "byte size overflows");
            }
            long offset = r.i64(name + " (offset)");
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufException(name, "data offset " + Long.toUnsignedString(offset)
                        + " is not a non-negative multiple of the alignment " + alignment);
            }
            raws[i] = new Raw(name, type, dims, offset, bytes);
        }
        long infosEnd = r.pos;
        long start = (infosEnd + alignment - 1) / alignment * alignment;
        dataOffset = start;

        Map<String, GgufTensorInfo> ts = new LinkedHashMap<>();
        for (Raw raw : raws) {
            long available = file.byteSize() - start;
            if (raw.bytes > 0 && (start > file.byteSize() || raw.offset > available || raw.bytes > available - raw.offset)) {
                throw new GgufException(raw.name, "data [" + raw.offset + ", +" + raw.bytes + ") runs past the end of the file ("
                        + Math.max(0, available) + " bytes of tensor data)");
            }
            MemorySegment data = file.asSlice(start + raw.offset, raw.bytes);
            if (ts.putIfAbsent(raw.name, new GgufTensorInfo(raw.name, raw.type, raw.dims, raw.offset, data)) != null) {
                throw new GgufException(raw.name, "tensor name appears twice");
            }
        }
        tensors = Collections.unmodifiableMap(ts);
    }

    /** Maps and parses a GGUF file. The mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        // a directory opens for reading on Linux and only its mapping fails, as "No such device"
        if (Files.isDirectory(path)) throw new FileSystemException(path.toString(), null, "is a directory, not a GGUF file");
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
        Arena arena = Arena.ofShared();
        try (ch) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GgufFile(path, arena, seg);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public long fileSize() {
        return file.byteSize();
    }

    public int alignment() {
        return alignment;
    }

    /** Offset of the tensor data section from the start of the file. */
    public long dataOffset() {
        return dataOffset;
    }

    /** Every metadata pair in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Every tensor in file order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public GgufTensorInfo tensor(String name) {
        return tensors.get(name);
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public GgufValue value(String key) {
        return metadata.get(key);
    }

    // ---- typed metadata accessors: each names the key in its exception ----

    public String getString(String key) throws GgufException {
        GgufValue v = require(key);
        if (v.type() != GgufValueType.STRING) throw new GgufException(key, "must be a string, is " + v.type());
        return (String) v.value();
    }

    public String getString(String key, String dflt) throws GgufException {
        return has(key) ? getString(key) : dflt;
    }

    /** An integer value that must lie in {@code [min, max]}. */
    public long getLong(String key, long min, long max) throws GgufException {
        GgufValue v = require(key);
        if (!v.type().isInteger()) throw new GgufException(key, "must be an integer, is " + v.type());
        long x = v.asLong();
        if (v.type() == GgufValueType.UINT64 && x < 0 || x < min || x > max) {
            throw new GgufException(key, "is " + v.display(0) + ", expected " + min + ".." + max);
        }
        return x;
    }

    public int getInt(String key, int min, int max) throws GgufException {
        return (int) getLong(key, min, max);
    }

    public int getInt(String key, int min, int max, int dflt) throws GgufException {
        return has(key) ? getInt(key, min, max) : dflt;
    }

    /** A number (integer or float) value. */
    public double getDouble(String key) throws GgufException {
        GgufValue v = require(key);
        if (!v.type().isInteger() && v.type() != GgufValueType.FLOAT32 && v.type() != GgufValueType.FLOAT64) {
            throw new GgufException(key, "must be a number, is " + v.type());
        }
        return v.asDouble();
    }

    public double getDouble(String key, double dflt) throws GgufException {
        return has(key) ? getDouble(key) : dflt;
    }

    public boolean getBoolean(String key, boolean dflt) throws GgufException {
        if (!has(key)) return dflt;
        GgufValue v = metadata.get(key);
        if (v.type() == GgufValueType.BOOL) return (Boolean) v.value();
        if (v.type().isInteger()) return v.asLong() != 0;
        throw new GgufException(key, "must be a bool, is " + v.type());
    }

    public String[] getStringArray(String key) throws GgufException {
        GgufValue v = require(key);
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.STRING) {
            throw new GgufException(key, "must be an array of strings, is " + describe(v));
        }
        return (String[]) v.value();
    }

    /** An array of floats (FLOAT32 or FLOAT64 elements). */
    public float[] getFloatArray(String key) throws GgufException {
        GgufValue v = require(key);
        if (v.type() == GgufValueType.ARRAY && v.value() instanceof float[] a) return a;
        if (v.type() == GgufValueType.ARRAY && v.value() instanceof double[] a) {
            float[] f = new float[a.length];
            for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
            return f;
        }
        throw new GgufException(key, "must be an array of floats, is " + describe(v));
    }

    /** An array of 8-, 16- or 32-bit integers, as ints. */
    public int[] getIntArray(String key) throws GgufException {
        GgufValue v = require(key);
        if (v.type() == GgufValueType.ARRAY) {
            switch (v.value()) {
                case int[] a -> { return a; }
                case byte[] a -> {
                    int[] r = new int[a.length];
                    boolean unsigned = v.elementType() == GgufValueType.UINT8;
                    for (int i = 0; i < a.length; i++) r[i] = unsigned ? a[i] & 0xFF : a[i];
                    return r;
                }
                case short[] a -> {
                    int[] r = new int[a.length];
                    boolean unsigned = v.elementType() == GgufValueType.UINT16;
                    for (int i = 0; i < a.length; i++) r[i] = unsigned ? a[i] & 0xFFFF : a[i];
                    return r;
                }
                default -> { }
            }
        }
        throw new GgufException(key, "must be an array of integers, is " + describe(v));
    }

    private static String describe(GgufValue v) {
        return v.type() == GgufValueType.ARRAY ? "an array of " + v.elementType() : v.type().toString();
    }

    private GgufValue require(String key) throws GgufException {
        GgufValue v = metadata.get(key);
        if (v == null) throw new GgufException(key, "missing metadata key");
        return v;
    }

    /** Unmaps the file. Tensors and models read from it cannot be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    /** A bounds-checked little-endian cursor over the mapped file. */
    private static final class Reader {
        final MemorySegment seg;
        long pos;

        Reader(MemorySegment seg) {
            this.seg = seg;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        void need(long n, String field) throws GgufException {
            if (n < 0 || n > remaining()) {
                throw new GgufException(field, "file truncated: needs " + Long.toUnsignedString(n) + " bytes at offset "
                        + pos + ", " + remaining() + " left");
            }
        }

        /** A count of items that take at least {@code minBytes} each must fit in what is left of the file. */
        void checkCount(String field, long count, long minBytes) throws GgufException {
            if (count < 0 || count > remaining() / minBytes || count > Integer.MAX_VALUE - 16) {
                throw new GgufException(field, "count " + Long.toUnsignedString(count) + " is impossible with "
                        + remaining() + " bytes left in the file");
            }
        }

        byte i8(String field) throws GgufException {
            need(1, field);
            return seg.get(ValueLayout.JAVA_BYTE, pos++);
        }

        short i16(String field) throws GgufException {
            need(2, field);
            short v = seg.get(I16, pos);
            pos += 2;
            return v;
        }

        int i32(String field) throws GgufException {
            need(4, field);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String field) throws GgufException {
            need(8, field);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        String string(String field) throws GgufException {
            long len = wholeStringLength();
            if (len < 0) throw badString(field);
            return stringOf(len);
        }

        /**
         * String {@code i} of array {@code key}: as {@link #string}, without building the element's name for the
         * messages unless it is bad (a tokenizer's arrays hold hundreds of thousands of strings).
         */
        String element(String key, int i) throws GgufException {
            long len = wholeStringLength();
            if (len < 0) throw badString(key + "[" + i + "]");
            return stringOf(len);
        }

        /** The byte length of the string at the position, or -1 where its length or bytes run past the file or it is too long for an array. */
        private long wholeStringLength() {
            if (remaining() < 8) return -1;
            long len = seg.get(I64, pos);
            return len >= 0 && len <= remaining() - 8 && len <= Integer.MAX_VALUE - 16 ? len : -1;
        }

        /** The string at the position, of {@code len} bytes after its 8-byte length (checked by {@link #wholeStringLength}). */
        private String stringOf(long len) {
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos + 8, b, 0, (int) len);
            pos += 8 + len;
            return new String(b, StandardCharsets.UTF_8);
        }

        /** The error for a string {@link #wholeStringLength} refused, naming {@code field} (thrown by the checks it repeats). */
        private GgufException badString(String field) throws GgufException {
            long len = i64(field + " (string length)");
            need(len, field + " (string of " + Long.toUnsignedString(len) + " bytes)");
            return new GgufException(field, "string too long: " + len);
        }

        GgufValue value(String key, GgufValueType type, int depth) throws GgufException {
            return switch (type) {
                case UINT8, INT8 -> GgufValue.of(type, i8(key));
                case UINT16, INT16 -> GgufValue.of(type, i16(key));
                case UINT32, INT32 -> GgufValue.of(type, i32(key));
                case UINT64, INT64 -> GgufValue.of(type, i64(key));
                case FLOAT32 -> {
                    need(4, key);
                    float f = seg.get(F32, pos);
                    pos += 4;
                    yield GgufValue.of(type, f);
                }
                case FLOAT64 -> {
                    need(8, key);
                    double d = seg.get(F64, pos);
                    pos += 8;
                    yield GgufValue.of(type, d);
                }
                case BOOL -> {
                    byte b = i8(key);
                    if (b != 0 && b != 1) throw new GgufException(key, "bool value " + (b & 0xFF) + " is not 0 or 1");
                    yield GgufValue.of(type, b != 0);
                }
                case STRING -> GgufValue.string(string(key));
                case ARRAY -> array(key, depth);
            };
        }

        GgufValue array(String key, int depth) throws GgufException {
            if (depth >= MAX_ARRAY_DEPTH) throw new GgufException(key, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
            int typeId = i32(key + " (array element type)");
            GgufValueType et = GgufValueType.ofId(typeId);
            if (et == null) throw new GgufException(key, "unknown array element type " + Integer.toUnsignedString(typeId));
            long count = i64(key + " (array length)");
            checkCount(key + " (array length)", count, et.minBytes);
            int n = (int) count;
            Object arr = switch (et) {
                case UINT8, INT8 -> {
                    byte[] a = new byte[n];
                    MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, a, 0, n);
                    pos += n;
                    yield a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) {
                        byte b = i8(key);
                        if (b != 0 && b != 1) throw new GgufException(key, "bool element " + i + " is " + (b & 0xFF));
                        a[i] = b != 0;
                    }
                    yield a;
                }
                case UINT16, INT16 -> {
                    short[] a = new short[n];
                    MemorySegment.copy(seg, I16, pos, a, 0, n);
                    pos += 2L * n;
                    yield a;
                }
                case UINT32, INT32 -> {
                    int[] a = new int[n];
                    MemorySegment.copy(seg, I32, pos, a, 0, n);
                    pos += 4L * n;
                    yield a;
                }
                case UINT64, INT64 -> {
                    long[] a = new long[n];
                    MemorySegment.copy(seg, I64, pos, a, 0, n);
                    pos += 8L * n;
                    yield a;
                }
                case FLOAT32 -> {
                    float[] a = new float[n];
                    MemorySegment.copy(seg, F32, pos, a, 0, n);
                    pos += 4L * n;
                    yield a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    MemorySegment.copy(seg, F64, pos, a, 0, n);
                    pos += 8L * n;
                    yield a;
                }
                case STRING -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = element(key, i);
                    yield a;
                }
                case ARRAY -> {
                    GgufValue[] a = new GgufValue[n];
                    for (int i = 0; i < n; i++) a[i] = array(key + "[" + i + "]", depth + 1);
                    yield a;
                }
            };
            return GgufValue.array(et, arr);
        }
    }
}
