package dev.nexusquant.codec.container;

import dev.nexusquant.codec.TestSeeds;
import dev.nexusquant.codec.e8.E8Codec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContainerRoundTripTest {

    @Test
    void roundTripIsBitExactRawAndZstd() throws Exception {
        long seed = TestSeeds.seed("roundTripIsBitExactRawAndZstd");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int t = 0; t < 200; t++) {
            KvContainer c = Containers.random(rnd, 4, 3, 300);
            for (ContainerWriter.Options o : List.of(ContainerWriter.RAW, ContainerWriter.ZSTD, ContainerWriter.ZSTD_MAX)) {
                byte[] bytes = ContainerWriter.write(c, o);
                KvContainer back = ContainerReader.read(bytes);
                assertEquals(c.header(), back.header(), "header, seed=" + seed + " t=" + t);
                assertEquals(c.heads(), back.heads(), "heads, seed=" + seed + " t=" + t + " " + o);
                assertArrayEquals(bytes, ContainerWriter.write(back, o), "rewrite is identical, seed=" + seed);
            }
        }
    }

    @Test
    void accountingEqualsTheBytesReallyWritten() {
        long seed = TestSeeds.seed("accountingEqualsTheBytesReallyWritten");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int t = 0; t < 200; t++) {
            KvContainer c = Containers.random(rnd, 4, 3, 500);
            ContainerSize predicted = ContainerAccounting.rawSize(c);
            ContainerWriter.Written raw = ContainerWriter.writeWithSizes(c, ContainerWriter.RAW);
            assertEquals(predicted.total(), raw.bytes().length, "seed=" + seed + " t=" + t);
            assertEquals(predicted, raw.stored(), "breakdown, seed=" + seed + " t=" + t);
            assertEquals(predicted, raw.raw());
            ContainerWriter.Written z = ContainerWriter.writeWithSizes(c, ContainerWriter.ZSTD);
            assertEquals(z.stored().total(), z.bytes().length, "zstd breakdown sums to the bytes, seed=" + seed);
            assertEquals(predicted, z.raw(), "zstd: raw sizes are the accounting's");
            assertTrue(z.bytes().length <= raw.bytes().length, "zstd never larger: sections fall back to raw");
        }
    }

    @Test
    void accountingByHand() {
        // 1 layer, 1 head, dim 8, 2 bits (2 bytes codes + 2 bytes scale = 4 bytes per vector), 3 tokens kept of 10
        E8Codec codec = E8Codec.of(8, 2);
        ContainerHeader h = ContainerHeader.uniform(1, 1, 8, 10, true, 42, null, WindowFormat.F32, codec.descriptor(),
                codec.descriptor(), false);
        KvContainer c = new KvContainer(h, List.of(HeadEntry.of(new int[]{0, 5, 9}, new byte[12], new byte[12])));
        ContainerSize s = ContainerAccounting.rawSize(c);
        // header: prefix 12 + body + crc 4; body: 16 shape + 1 flags + 8 seed + 1 window + 1 count
        //   + codec (1 + 2 name + 16 + 2 + params) + 2 per layer + 1 + 7 * 18 table
        int params = codec.descriptor().parameters().length;
        assertEquals(12 + (16 + 1 + 8 + 1 + 1 + (1 + 2 + 16 + 2 + params) + 2 + 1 + 7 * 18) + 4, s.header());
        assertEquals(1 + 3, s.positions()); // count 3, gaps 0, 4, 3
        assertEquals(12, s.keyCodes());
        assertEquals(12, s.valueCodes());
        assertEquals(1, s.windowPositions());
        assertEquals(s.total(), ContainerWriter.write(c, ContainerWriter.RAW).length);
        assertEquals(8.0 * s.total() / (10 * 8 * 2), s.bitsPerValue(h.valuesSeen()), 1e-12);
        assertEquals(16.0 / s.bitsPerValue(h.valuesSeen()), s.ratioVsFp16(h.valuesSeen()), 1e-9);
    }

    @Test
    void writerRejectsInconsistentContent() {
        E8Codec codec = E8Codec.of(8, 2);
        ContainerHeader h = ContainerHeader.uniform(1, 1, 8, 10, false, 0, null, WindowFormat.F32, codec.descriptor(),
                codec.descriptor(), false);
        assertThrows(IllegalArgumentException.class, () -> ContainerWriter.write(new KvContainer(h,
                List.of(HeadEntry.of(new int[]{0, 5}, new byte[12], new byte[8]))), ContainerWriter.RAW));
        assertThrows(IllegalArgumentException.class, () -> ContainerWriter.write(new KvContainer(h,
                List.of(HeadEntry.of(new int[]{5, 3}, new byte[8], new byte[8]))), ContainerWriter.RAW));
        assertThrows(IllegalArgumentException.class, () -> ContainerWriter.write(new KvContainer(h,
                List.of(HeadEntry.of(new int[]{10}, new byte[4], new byte[4]))), ContainerWriter.RAW));
        assertThrows(IllegalArgumentException.class, () -> ContainerWriter.write(new KvContainer(h, List.of()), ContainerWriter.RAW));
        assertThrows(IllegalArgumentException.class, () -> ContainerHeader.uniform(1, 1, 16, 10, false, 0, null,
                WindowFormat.F32, codec.descriptor(), codec.descriptor(), false));
    }

    @Test
    void namedFieldsInErrors() {
        E8Codec codec = E8Codec.of(8, 2);
        ContainerHeader h = ContainerHeader.uniform(2, 1, 8, 10, false, 0, null, WindowFormat.F32, codec.descriptor(),
                codec.descriptor(), false);
        KvContainer c = new KvContainer(h, List.of(HeadEntry.of(new int[]{1, 2}, new byte[8], new byte[8]),
                HeadEntry.of(new int[]{3}, new byte[4], new byte[4])));
        byte[] good = ContainerWriter.write(c, ContainerWriter.RAW);
        assertField("magic", mutate(good, 0, (byte) 'X'));
        assertField("version", Mutations.withHeaderCrc(mutate(good, 4, (byte) 2)));
        assertField("length", Arrays.copyOf(good, good.length - 1));
        assertField("length", Arrays.copyOf(good, good.length + 3));
        assertField("headerCrc", mutate(good, 20, (byte) (good[20] ^ 1)));
        assertField("section[KCOD].crc", mutate(good, good.length - 20, (byte) (good[good.length - 20] ^ 1)));
        assertField("prefix.magic", new byte[2]);
        // layers = 3 with a valid checksum: the layer table then runs into the sections table
        assertTrue(fieldOf(Mutations.withHeaderCrc(mutate(good, 12, (byte) 3))).startsWith("header"));
    }

    private static byte[] mutate(byte[] b, int at, byte v) {
        byte[] c = b.clone();
        c[at] = v;
        return c;
    }

    private static String fieldOf(byte[] bytes) {
        try {
            ContainerReader.read(bytes);
            throw new AssertionError("accepted");
        } catch (CorruptContainerException e) {
            return e.field();
        }
    }

    private static void assertField(String field, byte[] bytes) {
        CorruptContainerException e = assertThrows(CorruptContainerException.class, () -> ContainerReader.read(bytes));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(field));
    }
}
