package dev.nexusquant.codec.entropy;

import io.airlift.compress.v3.MalformedInputException;
import io.airlift.compress.v3.zstd.ZstdJavaCompressor;
import io.airlift.compress.v3.zstd.ZstdJavaDecompressor;

import java.io.IOException;

/**
 * zstd (RFC 8878) for the at-rest form, through aircompressor-v3's pure-Java implementation: no native library, no
 * JNI extraction to a temporary directory, no {@code --enable-native-access}, the same bytes on every platform. The
 * choice and the measurement behind it (ratio and speed against zstd-jni and aircompressor's native path, on real
 * code streams) are in BENCHMARKS.md, section "Codec: zstd library".
 *
 * <p>Thread-safe: the compressor and decompressor objects are created per call (they are small).
 */
public final class Zstd {

    private Zstd() {
    }

    /** The zstd frame of {@code src[off..off+len)}. */
    public static byte[] compress(byte[] src, int off, int len) {
        ZstdJavaCompressor c = new ZstdJavaCompressor();
        byte[] out = new byte[c.maxCompressedLength(len)];
        int n = c.compress(src, off, len, out, 0, out.length);
        return java.util.Arrays.copyOf(out, n);
    }

    /**
     * Decompresses one frame {@code src[off..off+len)} into exactly {@code dst.length} bytes.
     *
     * @throws IOException when the frame is malformed or does not hold exactly {@code dst.length} bytes
     */
    public static void decompress(byte[] src, int off, int len, byte[] dst) throws IOException {
        int n;
        try {
            n = new ZstdJavaDecompressor().decompress(src, off, len, dst, 0, dst.length);
        } catch (MalformedInputException e) {
            throw new IOException("zstd: malformed frame: " + e.getMessage(), e);
        } catch (RuntimeException e) { // defensive: whatever the decompressor throws on hostile input is a bad frame
            throw new IOException("zstd: bad frame (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        if (n != dst.length) throw new IOException("zstd: frame holds " + n + " bytes, expected " + dst.length);
    }
}
