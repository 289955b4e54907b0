package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Weights on huge pages: where the slices are, what they hold, and that packing gives the same bytes either way. */
class HugePageArenaTest {

    @Test
    void eagerSlicesAreZeroedAlignedOnAdvisedMappingsAndUnmappedWithTheArena() throws Exception {
        checkSlices("eager");
    }

    /** The default: 4 KiB pages at first touch, moved onto huge pages by {@code settle()} with their contents kept. */
    @Test
    void laterSlicesAreMovedOntoHugePagesWithTheirContents() throws Exception {
        checkSlices("true");
    }

    /**
     * With the default (pages advised after load), a slice is resident when it is handed out (its pages populated in one
     * call), before anything writes it, and still zeroed; on kernels with {@code MADV_POPULATE_WRITE} (5.14 and later).
     */
    @Test
    void laterSlicesArePopulatedWhenHandedOut() throws Exception {
        assumeTrue(HugePageArena.enabled() && HugePageArena.POPULATE);
        String[] v = System.getProperty("os.version").split("[.-]");
        assumeTrue(Integer.parseInt(v[0]) > 5 || Integer.parseInt(v[0]) == 5 && Integer.parseInt(v[1]) >= 14, "MADV_POPULATE_WRITE");
        try (Arena arena = HugePageArena.ofShared()) {
            assumeTrue(arena instanceof HugePageArena);
            MemorySegment s = arena.allocate(40L << 20, 64);
            String entry = smapsEntry(s.address());
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^Rss:\\s+(\\d+) kB").matcher(entry);
            assertTrue(m.find(), entry);
            assertTrue(Long.parseLong(m.group(1)) >= 40L << 10, "40 MiB resident before the first write:\n" + entry);
            assertEquals(-1L, s.mismatch(MemorySegment.ofArray(new byte[(int) s.byteSize()])), "zeroed");
        }
    }

    /**
     * A slice populated in pieces over the load's threads ({@link HugePageArena#POPULATE_STEP} bytes each): a size that
     * is no multiple of the step, at an offset that is no multiple of a page, is resident end to end and zeroed.
     */
    @Test
    void slicesOfManyPopulateStepsAreResidentToTheirLastByte() throws Exception {
        assumeTrue(HugePageArena.enabled() && HugePageArena.POPULATE);
        String[] v = System.getProperty("os.version").split("[.-]");
        assumeTrue(Integer.parseInt(v[0]) > 5 || Integer.parseInt(v[0]) == 5 && Integer.parseInt(v[1]) >= 14, "MADV_POPULATE_WRITE");
        for (String mode : new String[]{"true", "eager"}) { // 4 KiB pages, then huge pages advised before first touch
            String old = System.setProperty(HugePageArena.PROPERTY, mode);
            try (Arena arena = HugePageArena.ofShared()) {
                checkResident(arena, mode);
            } finally {
                System.setProperty(HugePageArena.PROPERTY, old == null ? "true" : old);
            }
        }
    }

    private static void checkResident(Arena arena, String mode) throws Exception {
        assumeTrue(arena instanceof HugePageArena);
        arena.allocate(4096 + 3, 64);
        long size = 9 * HugePageArena.POPULATE_STEP + 4096 * 5 + 17;
        MemorySegment s = arena.allocate(size, 64);
        long first = s.address() >>> 12, last = (s.address() + size - 1) >>> 12;
        java.nio.ByteBuffer map = java.nio.ByteBuffer.allocate((int) (8 * (last - first + 1))).order(java.nio.ByteOrder.nativeOrder());
        try (var ch = java.nio.channels.FileChannel.open(java.nio.file.Path.of("/proc/self/pagemap"))) {
            while (map.hasRemaining() && ch.read(map, 8 * first + map.position()) > 0) {
            }
        }
        for (long page = first; page <= last; page++) { // bit 63 of a page's entry: present in memory
            assertTrue(map.getLong((int) (8 * (page - first))) < 0, "page " + (page - first) + " of " + (last - first + 1) + " resident before the first write, " + mode);
        }
        assertEquals(-1L, s.mismatch(MemorySegment.ofArray(new byte[(int) s.byteSize()])), "zeroed, " + mode);
    }

    @Test
    void closingWhileTheMoveRunsIsSafe() throws Exception {
        assumeTrue(HugePageArena.enabled());
        HugePageArena h = (HugePageArena) HugePageArena.ofShared();
        h.allocate(100L << 20, 64).fill((byte) 3);
        Thread t = h.settle();
        h.close();
        t.join(60_000);
        assertFalse(t.isAlive(), "the move stops when the arena closes");
    }

    private static void checkSlices(String mode) throws Exception {
        assumeTrue(HugePageArena.enabled(), "huge pages are off here (not Linux x86-64/AArch64, or -Dnq.hugePages=false)");
        Random r = new Random(5);
        String range;
        long first;
        String old = System.setProperty(HugePageArena.PROPERTY, mode);
        Arena made;
        try {
            made = HugePageArena.ofShared();
        } finally {
            restore(old);
        }
        try (Arena arena = made) {
            HugePageArena h = assertInstanceOf(HugePageArena.class, arena);
            MemorySegment big = arena.allocate(HugePageArena.CHUNK + 5, 64); // a mapping of its own
            first = big.address();
            assertEquals(0, first % LinuxPages.HUGE_PAGE, "a mapping starts on a huge page");
            long[] sizes = {1, 100, 4096, 300_000, 3 << 20, 17};
            List<MemorySegment> slices = new java.util.ArrayList<>();
            for (int i = 0; i < sizes.length; i++) {
                long n = sizes[i], align = 1L << r.nextInt(8);
                MemorySegment s = arena.allocate(n, align);
                assertEquals(n, s.byteSize());
                assertEquals(0, s.address() % Math.max(64, align), "aligned");
                assertEquals(-1, s.mismatch(MemorySegment.ofArray(new byte[(int) n])), "zeroed");
                s.fill((byte) (i + 1));
                for (MemorySegment o : slices) {
                    assertTrue(s.address() + n <= o.address() || s.address() >= o.address() + o.byteSize(), "slices do not overlap");
                }
                slices.add(s);
            }
            for (int i = 0; i < slices.size(); i++) {
                MemorySegment s = slices.get(i);
                assertEquals(i + 1, s.get(ValueLayout.JAVA_BYTE, 0));
                assertEquals(i + 1, s.get(ValueLayout.JAVA_BYTE, s.byteSize() - 1), "each slice keeps what was written");
            }
            assertEquals(-1, big.mismatch(MemorySegment.ofArray(new byte[(int) big.byteSize()])), "the big slice untouched");
            // the big slice's mapping (rounded up to whole huge pages) takes the first small slices, which fill it up to
            // the 3 MiB one: then one mapping of CHUNK bytes more
            assertEquals(2 * HugePageArena.CHUNK + LinuxPages.HUGE_PAGE, h.mappedBytes());
            Thread settling = h.settle();
            assertEquals(mode.equals("eager"), settling == null, "a move after load unless eager");
            if (settling != null) {
                settling.join(120_000);
                assertFalse(settling.isAlive(), "the move ends");
            }
            for (int i = 0; i < slices.size(); i++) {
                MemorySegment s = slices.get(i);
                for (long at = 0; at < s.byteSize(); at += 4093) assertEquals(i + 1, s.get(ValueLayout.JAVA_BYTE, at), "kept at " + at);
            }
            String entry = smapsEntry(first);
            assertTrue(entry != null, "the mapping is in /proc/self/smaps");
            range = entry.substring(0, entry.indexOf(' '));
            if (!Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).contains("[never]")) {
                assertTrue(entry.matches("(?s).*THPeligible:\\s+1\n.*"), "advised as huge pages:\n" + entry);
            }
        }
        String after = smapsEntry(first); // null, or a mapping made since at that address
        assertTrue(after == null || !after.startsWith(range + " "), "unmapped when the arena closed: " + range);
    }

    @Test
    void badRequestsAndTheProperty() {
        assumeTrue(HugePageArena.enabled());
        try (Arena arena = HugePageArena.ofShared()) {
            assertThrows(IllegalArgumentException.class, () -> arena.allocate(-1, 64));
            assertThrows(IllegalArgumentException.class, () -> arena.allocate(10, 48));
        }
        String old = System.getProperty(HugePageArena.PROPERTY);
        System.setProperty(HugePageArena.PROPERTY, "false");
        try (Arena arena = HugePageArena.ofShared()) {
            assertFalse(HugePageArena.enabled());
            assertFalse(arena instanceof HugePageArena, "an ordinary arena with -Dnq.hugePages=false");
        } finally {
            restore(old);
        }
    }

    /** The grouped Q8_0 and Q4_K copies hold the same bytes on huge pages and on an ordinary arena's 4 KiB pages. */
    @Test
    void packedWeightsAreBitIdenticalEitherWay() {
        Random r = new Random(11);
        try (Arena huge = HugePageArena.ofShared(); Arena small = Arena.ofShared()) {
            for (int[] shape : new int[][]{{17, 256}, {40, 2048}, {300, 8192}}) {
                int rows = shape[0], cols = shape[1];
                float[] v = new float[rows * cols];
                for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
                Weights q8 = new Weights("q8", GgmlType.Q8_0, rows, cols, MemorySegment.ofArray(Quants.quantize(GgmlType.Q8_0, v)));
                Weights q4 = KernelsTest.randomQ4kRows(r, rows, cols);
                for (Weights w : List.of(q8, q4)) {
                    MemorySegment a = pack(w, huge), b = pack(w, small);
                    assertEquals(-1, a.mismatch(b), w.type() + " " + rows + " x " + cols);
                }
            }
        }
    }

    private static MemorySegment pack(Weights w, Arena arena) {
        return (w.type() == GgmlType.Q8_0 ? Q8Groups.pack(w, arena) : Q4kGroups.pack(w, arena)).packed();
    }

    private static void restore(String old) {
        if (old == null) System.clearProperty(HugePageArena.PROPERTY);
        else System.setProperty(HugePageArena.PROPERTY, old);
    }

    /** The lines of /proc/self/smaps for the mapping that holds {@code address}, or null. */
    private static String smapsEntry(long address) throws IOException {
        StringBuilder entry = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                if (entry != null) return entry.toString();
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long from = Long.parseUnsignedLong(range[0], 16), to = Long.parseUnsignedLong(range[1], 16);
                if (Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address, to) < 0) entry = new StringBuilder();
            }
            if (entry != null) entry.append(line).append('\n');
        }
        return entry == null ? null : entry.toString();
    }
}
