package dev.nexusquant.codec.entropy;

import com.github.luben.zstd.ZstdException;

import java.io.IOException;
import java.util.Arrays;

/**
 * zstd (RFC 8878) for the at-rest form, through zstd-jni (the reference C library over JNI). The choice against
 * aircompressor-v3, with the measurement behind it (ratio and speed on real code streams, footprint, native-library
 * and {@code sun.misc.Unsafe} concerns), is in BENCHMARKS.md, section "Codec: zstd library".
 *
 * <p>zstd-jni loads its native library on first use (from its jar, for Linux, macOS and Windows on the common
 * architectures); JDK 24 and later want {@code --enable-native-access=ALL-UNNAMED} for that, which the {@code ./nq}
 * launcher and the build pass. Where the library cannot load, {@link #available()} is false: the container writer
 * then stores its sections uncompressed (a valid container that any reader can read) and {@link #compress} and
 * {@link #decompress} throw.
 *
 * <p>Decompression writes into a buffer of the expected size only; a frame that holds more or fewer bytes, or is
 * malformed, is an {@link IOException}. Callers check a checksum before (the container does), so the decoder only
 * sees frames that were written by {@link #compress}.
 */
public final class Zstd {

    /** zstd's default level: nearly the ratio of level 19 on code streams at about a hundred times the speed. */
    public static final int DEFAULT_LEVEL = 3;

    private static final Throwable UNAVAILABLE = load();

    private Zstd() {
    }

    private static Throwable load() {
        try {
            com.github.luben.zstd.util.Native.load();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Whether the native zstd library could be loaded. */
    public static boolean available() {
        return UNAVAILABLE == null;
    }

    private static void check() {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("zstd-jni's native library is not available on this platform: " + UNAVAILABLE);
        }
    }

    /** The zstd frame of {@code src[off..off+len)} at {@link #DEFAULT_LEVEL}. */
    public static byte[] compress(byte[] src, int off, int len) {
        return compress(src, off, len, DEFAULT_LEVEL);
    }

    /** The zstd frame of {@code src[off..off+len)} at a level from 1 to 22. */
    public static byte[] compress(byte[] src, int off, int len, int level) {
        check();
        if (level < 1 || level > 22) throw new IllegalArgumentException("zstd: level must be 1..22: " + level);
        if (off < 0 || len < 0 || len > src.length - off) throw new IndexOutOfBoundsException("zstd: bad source range");
        long bound = com.github.luben.zstd.Zstd.compressBound(len);
        if (bound > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("zstd: input too large: " + len);
        byte[] out = new byte[(int) bound];
        long n = com.github.luben.zstd.Zstd.compressByteArray(out, 0, out.length, src, off, len, level);
        if (com.github.luben.zstd.Zstd.isError(n)) {
            throw new IllegalStateException("zstd: " + com.github.luben.zstd.Zstd.getErrorName(n));
        }
        return Arrays.copyOf(out, (int) n);
    }

    /**
     * Decompresses one frame {@code src[off..off+len)} into exactly {@code dst.length} bytes.
     *
     * @throws IOException when the frame is malformed or does not hold exactly {@code dst.length} bytes
     */
    public static void decompress(byte[] src, int off, int len, byte[] dst) throws IOException {
        if (UNAVAILABLE != null) throw new IOException("zstd: the native library is not available: " + UNAVAILABLE);
        if (off < 0 || len < 0 || len > src.length - off) throw new IOException("zstd: bad source range");
        long n;
        try {
            n = com.github.luben.zstd.Zstd.decompressByteArray(dst, 0, dst.length, src, off, len);
        } catch (ZstdException e) {
            throw new IOException("zstd: bad frame: " + e.getMessage(), e);
        } catch (RuntimeException e) { // defensive: anything else the binding throws on a bad frame
            throw new IOException("zstd: bad frame (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        if (com.github.luben.zstd.Zstd.isError(n)) throw new IOException("zstd: bad frame: " + com.github.luben.zstd.Zstd.getErrorName(n));
        if (n != dst.length) throw new IOException("zstd: frame holds " + n + " bytes, expected " + dst.length);
    }
}
