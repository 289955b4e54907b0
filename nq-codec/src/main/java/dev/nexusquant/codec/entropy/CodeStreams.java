package dev.nexusquant.codec.entropy;

import java.io.IOException;

/**
 * The at-rest form of a stream of fixed-size code records ({@code [records][recordBytes]}, for example the
 * {@code bytesPerVector} bytes that {@code E8Codec} writes per token): byte-plane shuffled, then zstd. The container
 * does the same per section; this is the stand-alone form for a single stream (the {@code ./nq codec} command's
 * at-rest size).
 */
public final class CodeStreams {

    private CodeStreams() {
    }

    /** Shuffle + zstd of {@code codes[0..records*recordBytes)}. */
    public static byte[] compress(byte[] codes, int records, int recordBytes) {
        int n = Math.multiplyExact(records, recordBytes);
        byte[] planes = new byte[n];
        ByteShuffle.shuffle(codes, 0, records, recordBytes, planes, 0);
        return Zstd.compress(planes, 0, n);
    }

    /** The inverse of {@link #compress}. */
    public static byte[] decompress(byte[] stored, int records, int recordBytes) throws IOException {
        int n = Math.multiplyExact(records, recordBytes);
        byte[] planes = new byte[n];
        Zstd.decompress(stored, 0, stored.length, planes);
        byte[] codes = new byte[n];
        ByteShuffle.unshuffle(planes, 0, records, recordBytes, codes, 0);
        return codes;
    }
}
