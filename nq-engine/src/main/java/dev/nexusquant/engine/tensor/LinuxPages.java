package dev.nexusquant.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Anonymous memory mapped on 2 MiB pages where Linux gives them (transparent huge pages), through {@code mmap} and
 * {@code madvise(MADV_HUGEPAGE)} called with the FFM linker: the mapping is 2 MiB-aligned and advised before it is first
 * touched, so that the kernel backs it with huge pages as it faults in, also where transparent huge pages are in
 * {@code madvise} mode (the usual default). Only on Linux on x86-64 and AArch64, whose system-call constants this class
 * knows; elsewhere, or where a call is missing or fails, {@link #map} returns null and one line is logged (none where
 * there is nothing to try).
 */
final class LinuxPages {

    /** Size and alignment of a huge page on x86-64 and AArch64 (with 4 KiB base pages). */
    static final long HUGE_PAGE = 2L << 20;

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final int MADV_COLLAPSE = 25;
    private static final int MADV_POPULATE_WRITE = 23;

    private static final System.Logger LOG = System.getLogger(LinuxPages.class.getName());
    private static final AtomicBoolean LOGGED = new AtomicBoolean();
    private static final Calls CALLS = Calls.find();

    private LinuxPages() {
    }

    /** The three calls, bound through the FFM linker. */
    private record Calls(MethodHandle mmap, MethodHandle munmap, MethodHandle madvise) {
        static Calls find() {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
                return null; // nothing to try: 4 KiB pages, silently
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Optional<MemorySegment> mmap = libc.find("mmap"), munmap = libc.find("munmap"), madvise = libc.find("madvise");
                if (mmap.isEmpty() || munmap.isEmpty() || madvise.isEmpty()) {
                    logOnce("mmap, munmap or madvise is not in the C library");
                    return null;
                }
                ValueLayout.OfLong size = ValueLayout.JAVA_LONG; // size_t and off_t on these 64-bit systems
                ValueLayout.OfInt i32 = ValueLayout.JAVA_INT;
                return new Calls(
                        linker.downcallHandle(mmap.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, size, i32, i32, i32, size)),
                        linker.downcallHandle(munmap.get(), FunctionDescriptor.of(i32, ValueLayout.ADDRESS, size)),
                        linker.downcallHandle(madvise.get(), FunctionDescriptor.of(i32, ValueLayout.ADDRESS, size, i32)));
            } catch (RuntimeException e) { // IllegalCallerException where native access is denied, and the like
                logOnce("the FFM linker is not usable here: " + e);
                return null;
            }
        }
    }

    static void logOnce(String why) {
        if (LOGGED.compareAndSet(false, true)) LOG.log(System.Logger.Level.INFO, "weights stay on 4 KiB pages: " + why);
    }

    /** Whether the calls were found (Linux on x86-64 or AArch64, native access allowed). */
    static boolean available() {
        return CALLS != null;
    }

    /**
     * A zeroed mapping of at least {@code bytes} (whole huge pages), 2 MiB-aligned and advised as huge pages, unmapped
     * when {@code arena} closes; or null where it cannot be made (then nothing is mapped).
     */
    static MemorySegment map(long bytes, Arena arena) {
        return map(bytes, arena, true);
    }

    /** As {@link #map(long, Arena)}; with {@code advise} false the mapping is not advised (4 KiB pages at first touch). */
    static MemorySegment map(long bytes, Arena arena, boolean advise) {
        if (CALLS == null || bytes <= 0) return null;
        long span = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        long mapped = span + HUGE_PAGE; // room to move the start to a 2 MiB boundary
        long base;
        try {
            base = ((MemorySegment) CALLS.mmap.invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L)).address();
        } catch (Throwable t) {
            logOnce("mmap failed: " + t);
            return null;
        }
        if (base == -1L || base == 0L) { // MAP_FAILED
            logOnce("mmap of " + mapped + " bytes failed");
            return null;
        }
        long start = (base + HUGE_PAGE - 1) & -HUGE_PAGE;
        if (advise && advise(start, span, MADV_HUGEPAGE) != 0) {
            logOnce("madvise(MADV_HUGEPAGE) failed (transparent huge pages not built into this kernel?)");
        }
        return MemorySegment.ofAddress(start).reinterpret(span, arena, s -> unmap(base, mapped));
    }

    private static int advise(long address, long bytes, int advice) {
        try {
            return (int) CALLS.madvise.invokeExact(MemorySegment.ofAddress(address), bytes, advice);
        } catch (Throwable t) {
            return -1;
        }
    }

    /**
     * Advises {@code bytes} at {@code address} (whole huge pages of a mapping from {@link #map}) as huge pages and has
     * the kernel move what is already there onto huge pages now ({@code MADV_COLLAPSE}, Linux 6.1 and later; it copies
     * each 2 MiB into a new huge page, the contents unchanged); false where that failed for any part of the range: also
     * where part of it was never touched (the touched huge pages are moved all the same), and on kernels before 6.1
     * (there khugepaged may still move the advised range, slowly).
     */
    static boolean collapse(long address, long bytes) {
        if (CALLS == null) return false;
        advise(address, bytes, MADV_HUGEPAGE);
        return advise(address, bytes, MADV_COLLAPSE) == 0;
    }

    /**
     * Has the kernel fault in the 4 KiB pages of {@code bytes} at {@code address} (part of a mapping from {@link #map})
     * writable now, in one call ({@code MADV_POPULATE_WRITE}, Linux 5.14 and later), instead of one page fault at each
     * page's first write; false where that failed (older kernels: the pages then fault in as they are written).
     */
    static boolean populate(long address, long bytes) {
        if (CALLS == null || bytes <= 0) return false;
        long start = address & -4096L, end = (address + bytes + 4095) & -4096L;
        return advise(start, end - start, MADV_POPULATE_WRITE) == 0;
    }

    private static void unmap(long address, long bytes) {
        try {
            int rc = (int) CALLS.munmap.invokeExact(MemorySegment.ofAddress(address), bytes);
            if (rc != 0) LOG.log(System.Logger.Level.WARNING, "munmap of " + bytes + " bytes of weights failed");
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "munmap of " + bytes + " bytes of weights failed: " + t);
        }
    }
}
