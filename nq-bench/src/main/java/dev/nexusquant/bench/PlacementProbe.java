package dev.nexusquant.bench;

import dev.nexusquant.engine.tensor.HugePageArena;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * Whether where a buffer sits in memory decides how fast one thread reads it: {@code buffers} buffers of {@code MiB}
 * each, allocated as the engine allocates its prepared weights ({@link HugePageArena}, moved onto huge pages after
 * the fill and waited for), are read in turn ({@link Bandwidth#read}), {@code rounds} times, the first buffer of each
 * round rotating. If the buffers keep their own speeds round after round, placement (which physical memory, how the
 * host backs it) is what separates two processes of one build; if they all move together from round to round, it is
 * the time (the host's other tenants).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.PlacementProbe [MiB=700] [buffers=4] [rounds=6]</pre>
 *
 * Prints one line per round (GB/s of each buffer) and per buffer its median over rounds.
 */
public final class PlacementProbe {

    private PlacementProbe() {
    }

    public static void main(String[] args) throws InterruptedException {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 700) << 20;
        int buffers = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        if (bytes <= 0 || buffers < 1 || rounds < 1) throw new IllegalArgumentException("MiB, buffers and rounds must be positive");
        Arena[] arenas = new Arena[buffers];
        MemorySegment[] segs = new MemorySegment[buffers];
        try {
            for (int b = 0; b < buffers; b++) {
                arenas[b] = HugePageArena.ofShared();
                segs[b] = arenas[b].allocate(bytes, 64);
                segs[b].fill((byte) (b + 1));
                if (arenas[b] instanceof HugePageArena h) {
                    Thread t = h.settle();
                    if (t != null) t.join();
                }
            }
            double[][] gbs = new double[buffers][rounds];
            long sink = 0;
            for (int r = 0; r < rounds; r++) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d:", r));
                for (int i = 0; i < buffers; i++) {
                    int b = (r + i) % buffers;
                    long t0 = System.nanoTime();
                    sink += Bandwidth.read(segs[b], bytes);
                    gbs[b][r] = (double) bytes / (System.nanoTime() - t0);
                }
                for (int b = 0; b < buffers; b++) line.append(String.format(Locale.ROOT, " %6.2f", gbs[b][r]));
                System.out.println(line);
            }
            StringBuilder med = new StringBuilder("median: ");
            for (int b = 0; b < buffers; b++) med.append(String.format(Locale.ROOT, " %6.2f", EngineBench.median(gbs[b])));
            System.out.println(med + "  GB/s (checksum " + sink + ")");
        } finally {
            for (Arena a : arenas) if (a != null) a.close();
        }
        System.out.println(Arrays.toString(new long[]{bytes >> 20, buffers, rounds}) + " MiB, buffers, rounds");
    }
}
