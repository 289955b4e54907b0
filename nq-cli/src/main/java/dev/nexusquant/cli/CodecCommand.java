package dev.nexusquant.cli;

import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.entropy.CodeStreams;
import dev.nexusquant.codec.hadamard.HadamardRotation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code nq codec}: the codec on its own. Compresses a KV tensor {@code [tokens][dim]} (synthetic Gaussian data with a
 * few outlier channels, or a raw little-endian float32 file) with the randomized Hadamard rotation and the fixed-rate
 * E8 codec, decompresses it, and reports the size (every code and scale counted), the error and the speed, and the
 * at-rest size (byte shuffle + zstd of the codes). Speeds are MB of fp16-equivalent input per second of the thread's
 * CPU time (the machine may be shared), with the wall-clock figures beside them.
 */
@Command(name = "codec", mixinStandardHelpOptions = true,
        description = "Compress and decompress a KV tensor with the E8 codec; print bits per value, error and speed.")
public final class CodecCommand implements Callable<Integer> {

    static final long MAX_VALUES = 1L << 27;

    @Spec
    CommandSpec spec;

    @Option(names = "--dim", description = "Vector dimension, a multiple of 8 (default ${DEFAULT-VALUE}).")
    int dim = 128;

    @Option(names = "--tokens", description = "Number of vectors (default ${DEFAULT-VALUE}; with --input, the file's).")
    Integer tokens;

    @Option(names = "--bits", description = "Code bits per value, 1 to 4 (default ${DEFAULT-VALUE}).")
    int bits = 2;

    @Option(names = "--scale-group", description = "Values per fp16 scale (default: dim, one scale per vector).")
    Integer scaleGroup;

    @Option(names = "--input", description = "Raw little-endian float32 file of [tokens][dim] values.")
    Path input;

    @Option(names = "--seed", description = "Seed of the synthetic data and of the rotation (default ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--outliers", description = "Outlier channels in the synthetic data (default ${DEFAULT-VALUE}).")
    int outliers = 4;

    @Option(names = "--no-rotate", description = "Skip the Hadamard rotation.")
    boolean noRotate;

    @Option(names = "--repeat", description = "Timed repetitions after the warm-up; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat = 5;

    @Option(names = "--warmup", description = "Seconds of CPU time spent compressing before timing, so that the JIT has compiled the kernels (default ${DEFAULT-VALUE}).")
    double warmup = 3;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (dim <= 0 || dim % 8 != 0 || dim > 65536) throw new IllegalArgumentException("--dim must be a positive multiple of 8 up to 65536: " + dim);
        if (bits < E8Codec.MIN_BITS || bits > E8Codec.MAX_BITS) throw new IllegalArgumentException("--bits must be 1 to 4: " + bits);
        int sg = scaleGroup == null ? dim : scaleGroup;
        if (sg <= 0 || sg % 8 != 0 || dim % sg != 0) throw new IllegalArgumentException("--scale-group must be a multiple of 8 that divides --dim " + dim + ": " + sg);
        if (repeat < 1 || repeat > 1000) throw new IllegalArgumentException("--repeat must be 1 to 1000: " + repeat);
        if (!(warmup >= 0 && warmup <= 600)) throw new IllegalArgumentException("--warmup must be 0 to 600 seconds: " + warmup);
        if (outliers < 0 || outliers > dim) throw new IllegalArgumentException("--outliers must be 0 to --dim: " + outliers);
        float[] x = input != null ? readInput() : synthetic();
        int n = x.length / dim;

        E8Codec codec = E8Codec.of(dim, bits, sg);
        HadamardRotation rotation = noRotate ? null : new HadamardRotation(dim, seed);
        int bpv = codec.bytesPerVector();
        byte[] codes = new byte[Math.multiplyExact(n, bpv)];
        float[] work = new float[BATCH * dim];
        float[] out = new float[x.length];

        // speeds per second of this thread's CPU time (the machine may be shared: wall time would count other
        // programs' time), and per second of wall time beside them; after a warm-up that lets the JIT compile
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        long warmStart = cpu.getCurrentThreadCpuTime();
        do {
            pass(x, n, work, rotation, codec, codes, out, cpu);
        } while (cpu.getCurrentThreadCpuTime() - warmStart < warmup * 1e9);
        long[] encodeNs = new long[repeat], decodeNs = new long[repeat], encodeWall = new long[repeat], decodeWall = new long[repeat];
        for (int r = 0; r < repeat; r++) {
            long[] t = pass(x, n, work, rotation, codec, codes, out, cpu);
            encodeNs[r] = t[0];
            decodeNs[r] = t[1];
            encodeWall[r] = t[2];
            decodeWall[r] = t[3];
        }
        double err = 0, sig = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - out[i];
            err += d * d;
            sig += (double) x[i] * x[i];
        }
        double mse = err / x.length;
        double snr = 10 * Math.log10(sig / err);
        double fp16Mb = 2.0 * x.length / 1e6;
        double encodeMbs = fp16Mb / (median(encodeNs) / 1e9);
        double decodeMbs = fp16Mb / (median(decodeNs) / 1e9);
        double encodeWallMbs = fp16Mb / (median(encodeWall) / 1e9);
        double decodeWallMbs = fp16Mb / (median(decodeWall) / 1e9);
        double bitsPerValue = 8.0 * codes.length / x.length;
        byte[] atRest = CodeStreams.compress(codes, n, bpv);
        if (!Arrays.equals(codes, CodeStreams.decompress(atRest, n, bpv))) throw new IllegalStateException("at-rest round trip failed");
        double atRestBits = 8.0 * atRest.length / x.length;

        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.println(new Json()
                    .put("dim", dim).put("tokens", n).put("bits", bits).put("scale_group", sg)
                    .put("input", input == null ? "synthetic" : input.toString()).put("seed", seed)
                    .put("rotate", rotation != null).put("kernel", codec.kernel())
                    .put("bytes", codes.length).put("bits_per_value", bitsPerValue).put("ratio_vs_fp16", 16.0 / bitsPerValue)
                    .put("scale_bits_per_value", codec.scaleBitsPerValue())
                    .put("mse", mse).put("snr_db", snr)
                    .put("encode_mb_per_s", encodeMbs).put("decode_mb_per_s", decodeMbs)
                    .put("encode_mb_per_s_wall", encodeWallMbs).put("decode_mb_per_s_wall", decodeWallMbs)
                    .put("at_rest_bytes", atRest.length).put("at_rest_bits_per_value", atRestBits)
                    .put("at_rest_ratio_vs_fp16", 16.0 / atRestBits));
        } else {
            o.printf("tensor          [%d][%d] %s%s%n", n, dim, input == null ? "synthetic Gaussian, " + outliers + " outlier channels, seed " + seed : input,
                    rotation != null ? ", Hadamard-rotated (seed " + seed + ")" : ", not rotated");
            o.printf("codec           %s%n", codec);
            o.printf("in memory       %,d bytes = %.4f bits/value (%.4f of them scales), %.2fx smaller than fp16%n",
                    codes.length, bitsPerValue, codec.scaleBitsPerValue(), 16.0 / bitsPerValue);
            o.printf("at rest (zstd)  %,d bytes = %.4f bits/value, %.2fx smaller than fp16%n", atRest.length, atRestBits, 16.0 / atRestBits);
            o.printf("error           MSE %.6g, SNR %.2f dB%n", mse, snr);
            o.printf("speed           encode %.1f MB/s, decode %.1f MB/s of fp16-equivalent data per CPU-second of one thread"
                    + " (wall clock: %.1f and %.1f MB/s; median of %d after %.0f s of warm-up; rotation included)%n",
                    encodeMbs, decodeMbs, encodeWallMbs, decodeWallMbs, repeat, warmup);
        }
        return 0;
    }

    /** Vectors rotated and encoded together (as the compressed cache encodes the rows of a segment). */
    private static final int BATCH = 64;

    /** One compression and decompression of the tensor: {encode CPU ns, decode CPU ns, encode wall ns, decode wall ns}. */
    private long[] pass(float[] x, int n, float[] work, HadamardRotation rotation, E8Codec codec, byte[] codes, float[] out,
                        java.lang.management.ThreadMXBean cpu) {
        int bpv = codec.bytesPerVector();
        long c0 = cpu.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        for (int v0 = 0; v0 < n; v0 += BATCH) {
            int count = Math.min(BATCH, n - v0);
            System.arraycopy(x, v0 * dim, work, 0, count * dim);
            if (rotation != null) {
                for (int t = 0; t < count; t++) rotation.forward(work, t * dim);
            }
            codec.encode(work, 0, count, codes, v0 * bpv);
        }
        long t1 = System.nanoTime();
        long c1 = cpu.getCurrentThreadCpuTime();
        for (int t = 0; t < n; t++) {
            codec.decode(codes, t * bpv, out, t * dim);
            if (rotation != null) rotation.inverse(out, t * dim);
        }
        long t2 = System.nanoTime();
        long c2 = cpu.getCurrentThreadCpuTime();
        return new long[]{Math.max(1, c1 - c0), Math.max(1, c2 - c1), Math.max(1, t1 - t0), Math.max(1, t2 - t1)};
    }

    private static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    private float[] synthetic() {
        int n = tokens == null ? 4096 : tokens;
        if (n <= 0 || (long) n * dim > MAX_VALUES) {
            throw new IllegalArgumentException("--tokens must be positive with tokens x dim at most " + MAX_VALUES + ": " + n);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        // a few channels with a large mean and spread, as keys of real models have
        int[] outlier = rnd.ints(0, dim).distinct().limit(outliers).toArray();
        float[] mean = new float[dim];
        float[] sigma = new float[dim];
        Arrays.fill(sigma, 1f);
        for (int c : outlier) {
            mean[c] = (float) (rnd.nextBoolean() ? 8 : -8);
            sigma[c] = 4f;
        }
        float[] x = new float[n * dim];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < dim; i++) x[t * dim + i] = mean[i] + sigma[i] * (float) rnd.nextGaussian();
        }
        return x;
    }

    private float[] readInput() throws IOException {
        long size = Files.size(InputFile.regular(input, "file of float32 rows"));
        long row = 4L * dim;
        if (size == 0 || size % row != 0) {
            throw new IllegalArgumentException("--input " + input + ": " + size + " bytes is not a whole number of float32 rows of dim " + dim);
        }
        long n = size / row;
        if (tokens != null && tokens != n) throw new IllegalArgumentException("--input holds " + n + " rows of dim " + dim + ", --tokens says " + tokens);
        if (n * dim > MAX_VALUES) throw new IllegalArgumentException("--input holds " + n * dim + " values, more than " + MAX_VALUES);
        byte[] raw = Files.readAllBytes(input);
        if (raw.length != size) throw new IOException("--input " + input + " changed while it was read");
        float[] x = new float[(int) (n * dim)];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(x);
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) throw new IllegalArgumentException("--input value " + i + " (row " + i / dim + ") is " + x[i]);
        }
        return x;
    }
}
