package dev.nexusquant.codec.entropy;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EntropyTest {

    @Test
    void shuffleTransposesAndUnshuffleInverts() {
        byte[] src = {1, 2, 3, 4, 5, 6}; // 3 records of 2 bytes
        byte[] dst = new byte[6];
        ByteShuffle.shuffle(src, 0, 3, 2, dst, 0);
        assertArrayEquals(new byte[]{1, 3, 5, 2, 4, 6}, dst);
        byte[] back = new byte[6];
        ByteShuffle.unshuffle(dst, 0, 3, 2, back, 0);
        assertArrayEquals(src, back);
        assertThrows(IndexOutOfBoundsException.class, () -> ByteShuffle.shuffle(src, 1, 3, 2, dst, 0));
    }

    @Test
    void varintsAndZigzag() {
        byte[] b = new byte[10];
        for (long v : new long[]{0, 1, 127, 128, 16383, 16384, Integer.MAX_VALUE, -1L}) {
            int end = Varint.write(v, b, 0);
            assertEquals(Varint.size(v), end);
        }
        assertEquals(1, Varint.size(127));
        assertEquals(2, Varint.size(128));
        assertEquals(10, Varint.size(-1L));
        for (long v : new long[]{0, 1, -1, 63, -64, Long.MAX_VALUE, Long.MIN_VALUE}) {
            assertEquals(v, Varint.unzigzag(Varint.zigzag(v)));
        }
        assertEquals(1, Varint.zigzag(-1));
        assertEquals(2, Varint.zigzag(1));
    }

    @Test
    void zstdRoundTripsAndRejectsBadFrames() throws IOException {
        long seed = TestSeeds.seed("zstdRoundTripsAndRejectsBadFrames");
        SplittableRandom rnd = new SplittableRandom(seed);
        assertTrue(Zstd.available(), "zstd-jni should load on this platform");
        for (int t = 0; t < 200; t++) {
            byte[] src = new byte[rnd.nextInt(0, 5000)];
            for (int i = 0; i < src.length; i++) src[i] = (byte) (rnd.nextInt(1 + t % 7) * 17);
            byte[] z = Zstd.compress(src, 0, src.length);
            byte[] back = new byte[src.length];
            Zstd.decompress(z, 0, z.length, back);
            assertArrayEquals(src, back);
            if (src.length > 0) {
                assertThrows(IOException.class, () -> Zstd.decompress(z, 0, z.length, new byte[src.length - 1]));
            }
            assertThrows(IOException.class, () -> Zstd.decompress(z, 0, z.length, new byte[src.length + 1]));
            byte[] bad = z.clone();
            bad[rnd.nextInt(bad.length)] ^= (byte) rnd.nextInt(1, 256);
            try {
                byte[] out = new byte[src.length];
                Zstd.decompress(bad, 0, bad.length, out); // may pass when the flip hits a literal: then it decodes
            } catch (IOException expected) {
                // fine
            }
            assertThrows(IOException.class, () -> Zstd.decompress(z, 0, Math.max(0, z.length - 3), new byte[src.length]));
        }
    }

    @Test
    void codeStreamsRoundTripAndShrinkSkewedCodes() throws IOException {
        SplittableRandom rnd = new SplittableRandom(9);
        int records = 1000, bytes = 34;
        byte[] codes = new byte[records * bytes];
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) (i % 2 == 0 ? rnd.nextInt(16) : rnd.nextInt(256));
        byte[] z = CodeStreams.compress(codes, records, bytes);
        assertTrue(z.length < codes.length, z.length + " >= " + codes.length);
        assertArrayEquals(codes, CodeStreams.decompress(z, records, bytes));
        assertTrue(Arrays.equals(codes, CodeStreams.decompress(z, records, bytes)));
    }
}
