package dev.nexusquant.bench;

import dev.nexusquant.codec.container.ContainerHeader;
import dev.nexusquant.codec.container.ContainerWriter;
import dev.nexusquant.codec.container.HeadEntry;
import dev.nexusquant.codec.container.KvContainer;
import dev.nexusquant.codec.container.WindowFormat;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.hadamard.HadamardRotation;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data for the codec benchmarks: KV-like vectors (Gaussian with a few outlier channels, as real keys have them),
 * Hadamard-rotated, and the code streams and containers made from them. Seeded: every run sees the same data.
 */
final class CodecData {

    private CodecData() {
    }

    /** {@code [n][dim]} Gaussian values with 4 outlier channels (mean ±8, sigma 4). */
    static float[] kvLike(int n, int dim, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] mean = new float[dim];
        float[] sigma = new float[dim];
        java.util.Arrays.fill(sigma, 1f);
        rnd.ints(0, dim).distinct().limit(4).forEach(c -> {
            mean[c] = rnd.nextBoolean() ? 8 : -8;
            sigma[c] = 4;
        });
        float[] x = new float[n * dim];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < dim; i++) x[t * dim + i] = mean[i] + sigma[i] * (float) rnd.nextGaussian();
        }
        return x;
    }

    /** The same, rotated by a seeded Hadamard transform (what the codec sees). */
    static float[] rotated(int n, int dim, long seed) {
        float[] x = kvLike(n, dim, seed);
        HadamardRotation h = new HadamardRotation(dim, seed);
        for (int t = 0; t < n; t++) h.forward(x, t * dim);
        return x;
    }

    /** {@code [n][bytesPerVector]} E8 codes of rotated KV-like vectors. */
    static byte[] codes(E8Codec c, int n, long seed) {
        float[] x = rotated(n, c.dimension(), seed);
        byte[] out = new byte[n * c.bytesPerVector()];
        for (int t = 0; t < n; t++) c.encode(x, t * c.dimension(), out, t * c.bytesPerVector());
        return out;
    }

    /**
     * A container shaped like the cache of nq-ref-27m after a 2048-token prompt: 8 layers x 2 KV heads x head_dim
     * 64, half the tokens kept (SnapKV-like: sinks, recent window, every other middle token), keys and values at the
     * given bits, a 32-token fp16 window.
     */
    static KvContainer container(int bits, long seed) {
        int layers = 8, heads = 2, dim = 64, tokens = 2048, window = 32;
        E8Codec c = E8Codec.of(dim, bits);
        ContainerHeader h = ContainerHeader.uniform(layers, heads, dim, tokens, true, seed, null, WindowFormat.F16,
                c.descriptor(), c.descriptor(), false);
        SplittableRandom rnd = new SplittableRandom(seed);
        List<HeadEntry> entries = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < heads; k++) {
                int[] kept = IntStream.range(0, tokens - window).filter(t -> t < 4 || rnd.nextBoolean()).toArray();
                byte[] kc = codes(c, kept.length, rnd.nextLong());
                byte[] vc = codes(c, kept.length, rnd.nextLong());
                int[] wpos = IntStream.range(tokens - window, tokens).toArray();
                float[] wk = kvLike(window, dim, rnd.nextLong());
                float[] wv = kvLike(window, dim, rnd.nextLong());
                for (int i = 0; i < wk.length; i++) {
                    wk[i] = Float.float16ToFloat(Float.floatToFloat16(wk[i]));
                    wv[i] = Float.float16ToFloat(Float.floatToFloat16(wv[i]));
                }
                entries.add(new HeadEntry(kept, kc, vc, null, null, wpos, wk, wv));
            }
        }
        return new KvContainer(h, entries);
    }

    /** The raw streams of a container that zstd sees (see ContainerFormat), by name. */
    static byte[] stream(String name, long seed) {
        return switch (name) {
            case "e8-2bit-codes" -> shuffled(E8Codec.of(128, 2), 8192, seed);
            case "e8-4bit-codes" -> shuffled(E8Codec.of(128, 4), 8192, seed);
            case "positions" -> section(container(2, seed), 0);
            case "window-f16" -> {
                byte[] w = section(container(2, seed), 5);
                byte[] out = new byte[w.length];
                dev.nexusquant.codec.entropy.ByteShuffle.shuffle(w, 0, w.length / 2, 2, out, 0);
                yield out;
            }
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static byte[] shuffled(E8Codec c, int n, long seed) {
        byte[] codes = codes(c, n, seed);
        byte[] out = new byte[codes.length];
        dev.nexusquant.codec.entropy.ByteShuffle.shuffle(codes, 0, n, c.bytesPerVector(), out, 0);
        return out;
    }

    /** One section of a RAW container, cut out of the written bytes by its table entry. */
    private static byte[] section(KvContainer c, int index) {
        byte[] b = ContainerWriter.write(c, ContainerWriter.RAW);
        int body = u32(b, 8);
        int table = 12 + body - 7 * 18;
        int at = 12 + body + 4;
        for (int s = 0; s < index; s++) at += u32(b, table + s * 18 + 10);
        int len = u32(b, table + index * 18 + 10);
        return java.util.Arrays.copyOfRange(b, at, at + len);
    }

    private static int u32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }
}
