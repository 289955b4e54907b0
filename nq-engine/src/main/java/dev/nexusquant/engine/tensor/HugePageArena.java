package dev.nexusquant.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A shared arena for weights that hands out slices of huge-page mappings ({@link LinuxPages}): decode streams every
 * weight once per token, and on 4 KiB pages that is a TLB miss every 4 KiB (175,000 pages a token for a 700 MB
 * model), on 2 MiB pages one every 2 MiB. Slices are taken in order from mappings of {@link #CHUNK} bytes (a larger
 * request gets a mapping of its own), so that the many small matrices of a small model share huge pages instead of
 * each rounding up to one; memory is never reused, so every slice is zeroed; everything is unmapped when the arena
 * closes.
 *
 * <p>By default the weights sit on 4 KiB pages at load, populated by one call as each slice is handed out (a page fault
 * per 4 KiB cost ~1.1 s of CPU per 336 MB on the shared VM, the call about half; {@code -Dnq.populate=false} leaves them
 * to fault in), and a background thread moves them onto huge pages after it ({@link #settle()}); {@code
 * -Dnq.hugePages=eager} advises them before first touch instead, and the same populating calls then fault in huge
 * pages (no move after load: the weights' pages are not copied a second time).
 *
 * <p>Mappings count against the JVM's limit on native memory as direct buffers do ({@code -XX:MaxDirectMemorySize},
 * by default the maximum heap): past it, {@link #allocate} throws {@link OutOfMemoryError} as {@link Arena#ofShared()}
 * does, and the callers keep the file's layout. Where a mapping cannot be made, the slice comes from an ordinary
 * shared arena (4 KiB pages). {@link #ofShared()} gives an ordinary arena where huge pages are off
 * ({@code -Dnq.hugePages=false}) or not available (not Linux on x86-64 or AArch64).
 */
public final class HugePageArena implements Arena {

    /** System property that turns huge pages off ({@code false}). */
    public static final String PROPERTY = "nq.hugePages";
    /** Bytes mapped at a time (virtual: only the huge pages that slices touch take memory). */
    static final long CHUNK = 64L << 20;
    /** Bytes mapped by all open arenas of this class. */
    private static final AtomicLong MAPPED = new AtomicLong();
    private static final long LIMIT = nativeLimit();

    /**
     * Whether mappings are advised only after load (the default; {@code -Dnq.hugePages=eager} advises them before first
     * touch instead): they fault in on 4 KiB pages, which is fast where huge pages are slow to fault in (a VM whose free
     * memory was handed back to the host: 1B Q4_K loaded in 2.5-3.5 s against 11-14 s eager), and {@link #settle()}
     * then has a background thread move them onto huge pages ({@code MADV_COLLAPSE}).
     */
    private final boolean later = !"eager".equalsIgnoreCase(System.getProperty(PROPERTY, "true"));

    private final Arena owner = Arena.ofShared();
    /** The mappings made so far, to collapse after load; guarded by this. */
    private final java.util.List<MemorySegment> mappings = new java.util.ArrayList<>();
    private volatile boolean closed;
    /** The mapping slices come from, and the bytes of it handed out; guarded by this. */
    private MemorySegment chunk;
    private long used;
    private long mapped;

    private HugePageArena() {
    }

    /** A shared arena on huge pages where they are on and available, else {@link Arena#ofShared()}. */
    public static Arena ofShared() {
        return enabled() ? new HugePageArena() : Arena.ofShared();
    }

    /** Whether {@link #ofShared()} gives huge pages: the property is not {@code false} and the system calls were found. */
    public static boolean enabled() {
        return LinuxPages.available() && !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"));
    }

    private static long nativeLimit() {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            long set = Long.parseLong(bean.getVMOption("MaxDirectMemorySize").getValue());
            if (set > 0) return set;
        } catch (RuntimeException | LinkageError e) { // no such option or bean: the default below
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public synchronized MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteSize < 0 || byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1) {
            throw new IllegalArgumentException("bad size " + byteSize + " or alignment " + byteAlignment);
        }
        if (byteAlignment > LinuxPages.HUGE_PAGE) return owner.allocate(byteSize, byteAlignment);
        long align = Math.max(byteAlignment, 64);
        if (chunk != null) {
            long at = (used + align - 1) & -align;
            if (at + byteSize <= chunk.byteSize()) {
                used = at + byteSize;
                return populated(chunk.asSlice(at, byteSize));
            }
        }
        long want = Math.max(byteSize, CHUNK);
        long span = (want + LinuxPages.HUGE_PAGE - 1) / LinuxPages.HUGE_PAGE * LinuxPages.HUGE_PAGE;
        if (MAPPED.addAndGet(span) > LIMIT) {
            MAPPED.addAndGet(-span);
            throw new OutOfMemoryError("Cannot reserve " + byteSize + " bytes of native memory for weights (limit "
                    + LIMIT + " bytes: -XX:MaxDirectMemorySize)");
        }
        MemorySegment m = LinuxPages.map(span, owner, !later);
        if (m == null) {
            MAPPED.addAndGet(-span);
            return owner.allocate(byteSize, byteAlignment);
        }
        mapped += span;
        mappings.add(m);
        long left = chunk == null ? 0 : chunk.byteSize() - used;
        if (m.byteSize() - byteSize > left) { // keep the mapping with more room for the next slices
            chunk = m;
            used = byteSize;
        }
        return populated(m.asSlice(0, byteSize));
    }

    /** Whether slices are faulted in when handed out ({@code -Dnq.populate=false}: at their first writes). */
    static final boolean POPULATE = !"false".equalsIgnoreCase(System.getProperty("nq.populate", "true"));

    /**
     * {@code slice}, its pages faulted in by a call per {@link #POPULATE_STEP} bytes ({@link LinuxPages#populate}), the
     * calls spread over every core (4 KiB pages by default, huge pages with {@code -Dnq.hugePages=eager}): what the
     * caller writes next (a packed copy of a matrix) then takes no page fault per page.
     */
    private MemorySegment populated(MemorySegment slice) {
        if (POPULATE) {
            long size = slice.byteSize(), at = slice.address();
            int steps = (int) ((size + POPULATE_STEP - 1) / POPULATE_STEP);
            Parallel.forRangeAtLoad(steps, 1, 1, (from, to) ->
                    LinuxPages.populate(at + from * POPULATE_STEP, Math.min(size, to * POPULATE_STEP) - from * POPULATE_STEP));
        }
        return slice;
    }

    /** Bytes per piece of a slice's population, the pieces spread over the load's threads ({@link Parallel#forRangeAtLoad}). */
    static final long POPULATE_STEP = 4L << 20;

    /** Bytes mapped by this arena so far (0 where every slice came from the ordinary arena). */
    synchronized long mappedBytes() {
        return mapped;
    }

    @Override
    public MemorySegment.Scope scope() {
        return owner.scope();
    }

    /**
     * Where mappings were left on 4 KiB pages at load (not {@code -Dnq.hugePages=eager}): starts a daemon thread that moves
     * them onto huge pages 8 MiB at a time (closing waits for at most one step), until done or the arena closes, and
     * returns it; null otherwise.
     */
    public Thread settle() {
        if (!later) return null;
        java.util.List<MemorySegment> todo;
        synchronized (this) {
            todo = java.util.List.copyOf(mappings);
        }
        return Thread.ofPlatform().daemon().name("nq-huge-pages").start(() -> {
            long step = 8L << 20;
            for (MemorySegment m : todo) {
                for (long at = 0; at < m.byteSize() && !closed; at += step) {
                    synchronized (this) {
                        if (closed) return; // close() waits for this step: the range is still mapped during it
                        LinuxPages.collapse(m.address() + at, Math.min(step, m.byteSize() - at));
                    }
                }
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            closed = true; // a collapse step in progress has ended; none starts after this
        }
        owner.close(); // unmaps (LinuxPages.map registered the cleanup with owner)
        synchronized (this) {
            MAPPED.addAndGet(-mapped);
            mapped = 0;
            chunk = null;
        }
    }
}
