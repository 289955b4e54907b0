package dev.nexusquant.bench;

import dev.nexusquant.codec.container.ContainerWriter;
import io.airlift.compress.v3.zstd.ZstdJavaCompressor;
import io.airlift.compress.v3.zstd.ZstdNativeCompressor;

/**
 * The compression ratios behind the zstd library choice (speeds: {@link ZstdBench}): each stream of the at-rest form
 * compressed by zstd-jni at levels 3 and 19, aircompressor-v3's pure-Java codec (one fixed level) and its native codec
 * at levels 3 and 19; then a whole container (nq-ref-27m's shape after a 2048-token prompt, half the tokens kept,
 * 2-bit keys and values) written RAW and ZSTD.
 * Run: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.ZstdChoice}
 */
public final class ZstdChoice {

    public static void main(String[] args) {
        System.out.println("| stream | bytes | zstd-jni 3 | zstd-jni 19 | aircompressor java | aircompressor native 3 | aircompressor native 19 |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (String s : new String[]{"e8-2bit-codes", "e8-4bit-codes", "positions", "window-f16"}) {
            byte[] src = CodecData.stream(s, 11);
            byte[] out = new byte[src.length * 2 + 1024];
            long j3 = com.github.luben.zstd.Zstd.compressByteArray(out, 0, out.length, src, 0, src.length, 3);
            long j19 = com.github.luben.zstd.Zstd.compressByteArray(out, 0, out.length, src, 0, src.length, 19);
            int aj = new ZstdJavaCompressor().compress(src, 0, src.length, out, 0, out.length);
            String an3 = "n/a", an19 = "n/a";
            if (ZstdNativeCompressor.isEnabled()) {
                an3 = ratio(src.length, new ZstdNativeCompressor(3).compress(src, 0, src.length, out, 0, out.length));
                an19 = ratio(src.length, new ZstdNativeCompressor(19).compress(src, 0, src.length, out, 0, out.length));
            }
            System.out.printf("| %s | %d | %s | %s | %s | %s | %s |%n", s, src.length, ratio(src.length, j3), ratio(src.length, j19),
                    ratio(src.length, aj), an3, an19);
        }
        deltaExperiment();
        var c = CodecData.container(2, 11);
        var raw = ContainerWriter.writeWithSizes(c, ContainerWriter.RAW);
        var z = ContainerWriter.writeWithSizes(c, ContainerWriter.ZSTD);
        long values = c.header().valuesSeen();
        System.out.printf("%ncontainer (8 layers x 2 KV heads x 64, 2048 tokens seen, %d kept per head on average, 2-bit E8, 32-token f16 window):%n",
                c.heads().stream().mapToInt(e -> e.positions().length).sum() / c.heads().size());
        System.out.printf("  RAW  %,d bytes = %.4f bits/value, %.2fx vs fp16; %s%n", raw.bytes().length, raw.stored().bitsPerValue(values),
                raw.stored().ratioVsFp16(values), raw.stored());
        System.out.printf("  ZSTD %,d bytes = %.4f bits/value, %.2fx vs fp16; %s%n", z.bytes().length, z.stored().bitsPerValue(values),
                z.stored().ratioVsFp16(values), z.stored());
    }

    /**
     * The variable-rate alternative the design notes name: each token's lattice points written as coordinates (four
     * times each coordinate of the E8P16 point, small integers, one byte each) and delta-coded against the previous
     * token's, then shuffled and compressed; against the fixed-rate code bytes shuffled and compressed. Both carry
     * the same information (the points and the scales).
     */
    static void deltaExperiment() {
        System.out.println();
        System.out.println("| 2-bit E8 stream, 8192 tokens x 128 | bytes before zstd | zstd-jni 3 | zstd-jni 19 |");
        System.out.println("|---|---|---|---|");
        for (boolean correlated : new boolean[]{false, true}) {
            int n = 8192, dim = 128;
            dev.nexusquant.codec.e8.E8Codec c = dev.nexusquant.codec.e8.E8Codec.of(dim, 2);
            float[] x = CodecData.rotated(n, dim, 11);
            if (correlated) { // slowly drifting tokens: each is 0.9 x the previous plus 0.44 x fresh noise
                for (int t = 1; t < n; t++) {
                    for (int i = 0; i < dim; i++) x[t * dim + i] = 0.9f * x[(t - 1) * dim + i] + 0.44f * x[t * dim + i];
                }
            }
            int bpv = c.bytesPerVector();
            byte[] codes = new byte[n * bpv];
            for (int t = 0; t < n; t++) c.encode(x, t * dim, codes, t * bpv);
            byte[] shuffled = new byte[codes.length];
            dev.nexusquant.codec.entropy.ByteShuffle.shuffle(codes, 0, n, bpv, shuffled, 0);
            // lattice form: per token, 2 scale bytes then 128 bytes 4 * point (E8P16 points are quarter-integers)
            int rec = 2 + dim;
            byte[] lattice = new byte[n * rec];
            float[] unit = new float[dim];
            byte[] prev = new byte[dim];
            for (int t = 0; t < n; t++) {
                lattice[t * rec] = codes[t * bpv];
                lattice[t * rec + 1] = codes[t * bpv + 1];
                byte[] one = java.util.Arrays.copyOfRange(codes, t * bpv, (t + 1) * bpv);
                one[0] = 0x00;
                one[1] = 0x3c; // scale 1.0 in fp16: decode at unit scale
                c.decode(one, 0, unit, 0);
                for (int i = 0; i < dim; i++) {
                    byte v = (byte) Math.round(4 * unit[i]);
                    lattice[t * rec + 2 + i] = (byte) (v - prev[i]); // delta against the previous token
                    prev[i] = v;
                }
            }
            byte[] latticeShuffled = new byte[lattice.length];
            dev.nexusquant.codec.entropy.ByteShuffle.shuffle(lattice, 0, n, rec, latticeShuffled, 0);
            String data = correlated ? "correlated tokens" : "independent tokens";
            System.out.printf("| %s: fixed-rate codes, shuffled | %d | %s | %s |%n", data, shuffled.length,
                    ratioTo(codes.length, shuffled, 3), ratioTo(codes.length, shuffled, 19));
            System.out.printf("| %s: lattice coordinates, delta across tokens, shuffled | %d | %s | %s |%n", data, latticeShuffled.length,
                    ratioTo(codes.length, latticeShuffled, 3), ratioTo(codes.length, latticeShuffled, 19));
        }
        System.out.println("(ratios are fixed-rate code bytes / compressed bytes)");
    }

    private static String ratioTo(long reference, byte[] src, int level) {
        byte[] out = new byte[src.length * 2 + 1024];
        long n = com.github.luben.zstd.Zstd.compressByteArray(out, 0, out.length, src, 0, src.length, level);
        return ratio(reference, n);
    }

    private static String ratio(long raw, long compressed) {
        return String.format("%.4f", raw / (double) compressed);
    }
}
