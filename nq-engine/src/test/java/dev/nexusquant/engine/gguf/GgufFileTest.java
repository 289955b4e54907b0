package dev.nexusquant.engine.gguf;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading GGUF: every value type round-trips; every kind of malformed file gives a GgufException naming the field. */
class GgufFileTest {

    @TempDir
    Path dir;

    Path write(byte[] b) throws IOException {
        Path p = Files.createTempFile(dir, "t", ".gguf");
        Files.write(p, b);
        return p;
    }

    static GgufWriter everyType() {
        return new GgufWriter()
                .put("u8", GgufValue.of(GgufValueType.UINT8, (byte) 200))
                .put("i8", GgufValue.of(GgufValueType.INT8, (byte) -5))
                .put("u16", GgufValue.of(GgufValueType.UINT16, (short) 60000))
                .put("i16", GgufValue.of(GgufValueType.INT16, (short) -300))
                .put("u32", GgufValue.of(GgufValueType.UINT32, 0xFFFFFFF0))
                .put("i32", GgufValue.of(GgufValueType.INT32, -70000))
                .put("u64", GgufValue.of(GgufValueType.UINT64, 1L << 40))
                .put("i64", GgufValue.of(GgufValueType.INT64, -(1L << 40)))
                .put("f32", GgufValue.of(GgufValueType.FLOAT32, 1.5f))
                .put("f64", GgufValue.of(GgufValueType.FLOAT64, -2.25))
                .put("bool", GgufValue.of(GgufValueType.BOOL, true))
                .put("str", GgufValue.string("héllo ✓"))
                .put("a.u8", GgufValue.array(GgufValueType.UINT8, new byte[]{1, (byte) 255}))
                .put("a.i16", GgufValue.array(GgufValueType.INT16, new short[]{-1, 2}))
                .put("a.i32", GgufValue.array(GgufValueType.INT32, new int[]{3, -4, 5}))
                .put("a.u64", GgufValue.array(GgufValueType.UINT64, new long[]{7, 8}))
                .put("a.f32", GgufValue.array(GgufValueType.FLOAT32, new float[]{0.5f}))
                .put("a.f64", GgufValue.array(GgufValueType.FLOAT64, new double[]{0.25, 4}))
                .put("a.bool", GgufValue.array(GgufValueType.BOOL, new boolean[]{true, false}))
                .put("a.str", GgufValue.array(GgufValueType.STRING, new String[]{"a", "", "ü"}))
                .put("a.nested", GgufValue.array(GgufValueType.ARRAY, new GgufValue[]{
                        GgufValue.array(GgufValueType.INT32, new int[]{1}), GgufValue.array(GgufValueType.STRING, new String[]{"x"})}))
                .tensor("t.f32", GgmlType.F32, new long[]{4, 2}, new float[]{1, 2, 3, 4, 5, 6, 7, 8})
                .tensor("t.q8", GgmlType.Q8_0, new long[]{32}, new float[32]);
    }

    @Test
    void everyValueTypeRoundTrips() throws Exception {
        try (GgufFile f = GgufFile.open(write(everyType().toBytes()))) {
            assertEquals(3, f.version());
            assertEquals(200, f.value("u8").asLong());
            assertEquals(-5, f.value("i8").asLong());
            assertEquals(60000, f.value("u16").asLong());
            assertEquals(-300, f.value("i16").asLong());
            assertEquals(0xFFFFFFF0L, f.value("u32").asLong());
            assertEquals(-70000, f.getLong("i32", Long.MIN_VALUE, Long.MAX_VALUE));
            assertEquals(1L << 40, f.value("u64").asLong());
            assertEquals(-(1L << 40), f.value("i64").asLong());
            assertEquals(1.5, f.getDouble("f32"));
            assertEquals(-2.25, f.getDouble("f64"));
            assertTrue(f.getBoolean("bool", false));
            assertEquals("héllo ✓", f.getString("str"));
            assertArrayEquals(new int[]{1, 255}, f.getIntArray("a.u8"));
            assertArrayEquals(new int[]{-1, 2}, f.getIntArray("a.i16"));
            assertArrayEquals(new int[]{3, -4, 5}, f.getIntArray("a.i32"));
            assertArrayEquals(new long[]{7, 8}, (long[]) f.value("a.u64").value());
            assertArrayEquals(new float[]{0.5f}, f.getFloatArray("a.f32"));
            assertArrayEquals(new float[]{0.25f, 4f}, f.getFloatArray("a.f64"));
            assertArrayEquals(new boolean[]{true, false}, (boolean[]) f.value("a.bool").value());
            assertArrayEquals(new String[]{"a", "", "ü"}, f.getStringArray("a.str"));
            assertEquals(2, ((GgufValue[]) f.value("a.nested").value()).length);
            GgufTensorInfo t = f.tensor("t.f32");
            assertArrayEquals(new long[]{4, 2}, t.dims());
            assertEquals(32, t.byteSize());
            assertEquals(34, f.tensor("t.q8").byteSize());
            assertEquals(0, t.offset() % f.alignment());
            GgufException e = assertThrows(GgufException.class, () -> f.getString("u8"));
            assertEquals("u8", e.field());
            assertThrows(GgufException.class, () -> f.getInt("u64", 0, 1000));
            assertThrows(GgufException.class, () -> f.getString("missing.key"));
        }
    }

    GgufException fails(byte[] b) throws IOException {
        Path p = write(b);
        return assertThrows(GgufException.class, () -> GgufFile.open(p).close());
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void aDirectoryOrAMissingFileIsNamedAsSuch() throws Exception {
        // before: a directory opened, and mapping it failed with "No such device"
        var e = assertThrows(java.nio.file.FileSystemException.class, () -> GgufFile.open(dir));
        assertTrue(e.getMessage().contains("is a directory, not a GGUF file"), e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
        var missing = assertThrows(java.nio.file.NoSuchFileException.class, () -> GgufFile.open(dir.resolve("absent.gguf")));
        assertTrue(missing.getMessage().contains("absent.gguf"), missing.getMessage());
        assertThrows(java.nio.file.FileSystemException.class, () -> Model.load(dir));
    }

    @Test
    void wrongMagicAndVersion() throws Exception {
        byte[] b = everyType().toBytes();
        byte[] bad = b.clone();
        bad[0] = 'X';
        assertEquals("magic", fails(bad).field());
        assertEquals("magic", fails("hello world, not a model".getBytes()).field());
        assertEquals("magic", fails(new byte[0]).field());
        bad = b.clone();
        le(bad).putInt(4, 1);
        assertTrue(fails(bad).getMessage().contains("unsupported GGUF version 1"));
        bad = b.clone();
        le(bad).putInt(4, Integer.reverseBytes(3));
        assertTrue(fails(bad).getMessage().contains("big-endian"));
        byte[] v2 = everyType().version(2).toBytes();
        try (GgufFile f = GgufFile.open(write(v2))) {
            assertEquals(2, f.version());
        }
    }

    @Test
    void everyTruncationFails() throws Exception {
        byte[] b = new GgufWriter().putString("general.architecture", "llama")
                .put("a", GgufValue.array(GgufValueType.STRING, new String[]{"x", "yz"}))
                .tensor("w", GgmlType.F16, new long[]{8}, new float[8]).toBytes();
        for (int n = 0; n < b.length; n++) {
            GgufException e = fails(Arrays.copyOf(b, n));
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("past the end") || e.field().equals("magic")
                    || e.getMessage().contains("impossible"), n + ": " + e.getMessage());
        }
    }

    /** A bad element of a string array is named by its index (the array's strings are read without names first). */
    @Test
    void aBadStringOfAnArrayIsNamedByItsIndex() throws Exception {
        byte[] b = new GgufWriter().putString("general.architecture", "llama")
                .put("a", GgufValue.array(GgufValueType.STRING, new String[]{"x", "yz", "abc"}))
                .tensor("w", GgmlType.F16, new long[]{8}, new float[8]).toBytes();
        String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
        int yz = text.indexOf("yz"), abc = text.indexOf("abc");
        for (long len : new long[]{b.length, Long.MAX_VALUE, -1}) { // past the end of the file, or negative
            byte[] bad = b.clone();
            le(bad).putLong(yz - 8, len);
            assertEquals("a[1] (string of " + Long.toUnsignedString(len) + " bytes)", fails(bad).field());
            bad = b.clone();
            le(bad).putLong(abc - 8, len);
            assertEquals("a[2] (string of " + Long.toUnsignedString(len) + " bytes)", fails(bad).field());
        }
        try (GgufFile f = GgufFile.open(write(b))) {
            assertArrayEquals(new String[]{"x", "yz", "abc"}, (String[]) f.metadata().get("a").value());
        }
    }

    @Test
    void absurdCountsFailBeforeAllocating() throws Exception {
        byte[] b = everyType().toBytes();
        byte[] bad = b.clone();
        le(bad).putLong(16, 1L << 40); // metadata_kv_count
        assertEquals("metadata_kv_count", fails(bad).field());
        bad = b.clone();
        le(bad).putLong(8, Long.MAX_VALUE); // tensor_count
        assertEquals("tensor_count", fails(bad).field());
        bad = b.clone();
        le(bad).putLong(24, 1L << 50); // length of the first key
        assertTrue(fails(bad).getMessage().contains("truncated"));
        // a string array claiming 2^40 elements
        byte[] arr = new GgufWriter().put("big", GgufValue.array(GgufValueType.STRING, new String[]{"a"})).toBytes();
        int countAt = 24 + 8 + 3 + 4 + 4; // header, key length + "big", value type, element type
        le(arr).putLong(countAt, 1L << 40);
        GgufException e = fails(arr);
        assertTrue(e.getMessage().contains("impossible"), e.getMessage());
    }

    @Test
    void badTypesAndTensorsFail() throws Exception {
        byte[] unknownValue = new GgufWriter().putU32("k", 1).toBytes();
        le(unknownValue).putInt(24 + 8 + 1, 77);
        assertTrue(fails(unknownValue).getMessage().contains("unknown metadata value type 77"));

        GgufWriter w = new GgufWriter().tensor("w", GgmlType.F32, new long[]{4}, new float[4]);
        byte[] b = w.toBytes();
        int info = 24; // no metadata: the tensor info starts after the header
        int typeAt = info + 8 + 1 + 4 + 8;
        byte[] bad = b.clone();
        le(bad).putInt(typeAt, 99);
        GgufException e = fails(bad);
        assertEquals("w", e.field());
        assertTrue(e.getMessage().contains("unknown tensor type id 99"));

        bad = b.clone();
        le(bad).putLong(typeAt + 4, 1 << 20); // offset past the end
        assertTrue(fails(bad).getMessage().contains("past the end of the file"));
        bad = b.clone();
        le(bad).putLong(typeAt + 4, 3); // misaligned
        assertTrue(fails(bad).getMessage().contains("alignment"));
        bad = b.clone();
        le(bad).putLong(info + 8 + 1 + 4, 0); // zero dimension
        assertEquals("w", fails(bad).field());
        bad = b.clone();
        le(bad).putInt(info + 8 + 1, 9); // 9 dimensions
        assertTrue(fails(bad).getMessage().contains("dimension count"));
        bad = b.clone();
        le(bad).putLong(info + 8 + 1 + 4, 1L << 40); // huge dimension
        assertEquals("w", fails(bad).field());

        byte[] q = new GgufWriter().tensor("q", GgmlType.Q8_0, new long[]{32}, new float[32]).toBytes();
        le(q).putLong(24 + 8 + 1 + 4, 33); // row length not a multiple of the block
        assertTrue(fails(q).getMessage().contains("block size"));

        byte[] align = new GgufWriter().putU32("general.alignment", 24).toBytes();
        assertEquals("general.alignment", fails(align).field());

        byte[] dup = new GgufWriter().putU32("k", 1).putU32("k2", 2).toBytes();
        dup[24 + 8 + 1] = 'k'; // rename k2... into a duplicate needs equal lengths: write two keys of one letter
        byte[] twice = new GgufWriter().putU32("a", 1).putU32("b", 2).toBytes();
        twice[24 + 8 + 1 + 4 + 4 + 8] = 'a';
        assertTrue(fails(twice).getMessage().contains("twice"));
    }

    @Test
    void modelErrorsNameTheTensorOrKey() throws Exception {
        RandomModel.Spec spec = RandomModel.llama(2, 1, 16, GgmlType.F32).vocab(360);
        // unsupported tensor type for the engine
        GgufWriter w = spec.writer();
        Path ok = write(w.toBytes());
        try (Model m = Model.load(ok)) {
            assertEquals(360, m.config().vocabSize());
        }
        byte[] b = w.toBytes();
        // architecture we do not run
        byte[] arch = new GgufWriter().putString("general.architecture", "gpt-neox").toBytes();
        Path p = write(arch);
        GgufException e = assertThrows(GgufException.class, () -> Model.load(p));
        assertEquals("general.architecture", e.field());
        // a missing tensor: rename blk.0.attn_q.weight by flipping one letter of its name
        String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = s.indexOf("blk.0.attn_q.weight");
        byte[] renamed = b.clone();
        renamed[at + 6] = 'X';
        Path p2 = write(renamed);
        e = assertThrows(GgufException.class, () -> Model.load(p2));
        assertEquals("blk.0.attn_q.weight", e.field());
        assertTrue(e.getMessage().contains("missing tensor"));
    }
}
