package dev.nexusquant.bench;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The memory bandwidth one thread gets, STREAM-like, off heap as the engine reads its weights: {@code copy} (read and
 * write a 1 GiB segment into another: 2 bytes moved per byte copied, counted as STREAM counts them) and {@code read}
 * (a vector sum over the segment, which is what decode does with the weights). Best of the repetitions, GB/s.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.Bandwidth [MiB=1024] [reps=5]</pre>
 */
public final class Bandwidth {

    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;

    private Bandwidth() {
    }

    public static void main(String[] args) {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 1024) << 20;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(bytes, 64), b = arena.allocate(bytes, 64);
            a.fill((byte) 1);
            b.fill((byte) 2);
            long bestCopy = Long.MAX_VALUE, bestRead = Long.MAX_VALUE;
            long sink = 0;
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                MemorySegment.copy(a, 0, b, 0, bytes);
                long t1 = System.nanoTime();
                sink += read(r % 2 == 0 ? a : b, bytes);
                long t2 = System.nanoTime();
                bestCopy = Math.min(bestCopy, t1 - t0);
                bestRead = Math.min(bestRead, t2 - t1);
            }
            System.out.printf("%d MiB, best of %d: copy %.2f GB/s (read + write), read %.2f GB/s (checksum %d)%n",
                    bytes >> 20, reps, 2.0 * bytes / bestCopy, (double) bytes / bestRead, sink);
        }
    }

    /** Sum of the bytes of {@code s}, 4 vectors per step so the loads are independent. */
    static long read(MemorySegment s, long bytes) {
        int l = B.length();
        ByteVector a0 = ByteVector.zero(B), a1 = a0, a2 = a0, a3 = a0;
        for (long i = 0; i + 4L * l <= bytes; i += 4L * l) {
            a0 = a0.add(ByteVector.fromMemorySegment(B, s, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(ByteVector.fromMemorySegment(B, s, i + l, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(ByteVector.fromMemorySegment(B, s, i + 2L * l, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(ByteVector.fromMemorySegment(B, s, i + 3L * l, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
