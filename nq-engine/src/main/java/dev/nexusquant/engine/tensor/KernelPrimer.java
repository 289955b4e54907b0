package dev.nexusquant.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Starts the JIT on the prefill's vector kernels while a new process is still loading its model. Until C2 has compiled
 * a Vector API kernel it runs boxed in the interpreter and C1, about a hundred times slower, and a cold prefill waited
 * seconds for its dozen large kernels. A daemon thread started first thing in the CLI ({@link #start}) calls each
 * kernel a prefill uses a fixed number of times on small inputs, so that C2 compiles it on the second core while the
 * main thread parses the file, packs the weights and tokenizes the prompt; then it stops:
 * <ol>
 *   <li>the float kernels every model uses: {@link Kernels#gemmPanel}, {@link Kernels#scores},
 *       {@link Kernels#expShifted}, {@link Kernels#weightedSum}, {@link Kernels#siluMul}, on arrays of its own;</li>
 *   <li>for each kind of weight matrix the model's load hands it ({@link #offer}: type, packed or not), the first 32 rows
 *       of the real matrix: {@link Kernels#dequantizeRows} (the token embedding) and {@link Kernels#panel} (the prefill's
 *       products) as soon as one arrives, {@link Kernels#dotRows} (the last token's logits) after the float kernels.</li>
 * </ol>
 * Each branch of a kernel the prefill takes is taken here too (token and row tails, 1 to 4 query rows), so that C2 does
 * not compile an untaken branch as a trap that the prefill would hit (a deoptimization and a second compile). The number
 * of calls passes the compile thresholds that {@code ./nq} scales down for {@link VectorKernels}; the launcher also
 * makes their compiles blocking, so the primer waits for C2's code instead of running more boxed calls.
 *
 * <p>The kernels are pure functions of their arguments, and the primer writes only arrays of its own: a generation's
 * results do not depend on it. {@code -Dnq.primeKernels=false} turns it off; it does nothing when the preferred kernels
 * are not the vector ones. It waits at most {@link #WAIT_MS} after its start for the model's matrices.
 */
public final class KernelPrimer {

    /** The property that turns the primer off ({@code false}); on by default. */
    public static final String PROPERTY = "nq.primeKernels";
    /**
     * Calls of each kernel: past C2's thresholds at the fiftieth of the JIT's counts that {@code ./nq} gives
     * {@link VectorKernels} (a method with loops compiles after about 12 calls, later while the compile queue is long).
     */
    static final int CALLS = 100;
    /** How long after its start the primer takes matrices from the model's load. */
    static final long WAIT_MS = 10_000;
    static final int COLS = 32, TOKENS = 9, HEAD_DIM = 64, CHUNK = 64, FFN = 200;
    private static final int[] SCORE_TOKENS = {64, 48, 16, 32}, SOFTMAX_LENGTHS = {63, 5, 32};

    private static volatile KernelPrimer running;

    private final Kernels k;
    private final BlockingQueue<Weights> offered = new LinkedBlockingQueue<>();
    private final Set<String> kinds = ConcurrentHashMap.newKeySet();
    private final List<Weights> primed = new ArrayList<>();
    // gemmPanel: [COLS][PANEL] weights, [TOKENS][COLS] activations, [TOKENS][PANEL] out
    final float[] panel, x, out;
    // attention: [4][HEAD_DIM] queries, [HEAD_DIM][CHUNK] keys, [4][CHUNK] scores, [CHUNK][HEAD_DIM] values, [4][HEAD_DIM] out
    final float[] q, kt, s, v, o;
    // siluMul: [FFN] gate and up
    private final float[] gate, up;

    KernelPrimer(Kernels k) {
        this.k = k;
        SplittableRandom r = new SplittableRandom(7);
        panel = fill(new float[COLS * Kernels.PANEL], r);
        x = fill(new float[TOKENS * COLS], r);
        out = new float[TOKENS * Kernels.PANEL];
        q = fill(new float[4 * HEAD_DIM], r);
        kt = fill(new float[HEAD_DIM * CHUNK], r);
        s = new float[4 * CHUNK];
        v = fill(new float[CHUNK * HEAD_DIM], r);
        o = new float[4 * HEAD_DIM];
        gate = fill(new float[FFN], r);
        up = fill(new float[FFN], r);
    }

    /**
     * Starts the primer on a daemon thread unless {@code nq.primeKernels} is {@code false} or one already ran in this
     * process; returns the thread, or null when it did not start one. The thread chooses the kernels itself (the main
     * thread does not wait for the Vector API's classes) and ends at once when they are not the vector ones.
     */
    public static Thread start() {
        return start(WAIT_MS);
    }

    /** {@link #start()} taking matrices for {@code waitMs} after its start (tests wait less). */
    static synchronized Thread start(long waitMs) {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").trim()) || started) return null;
        started = true;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        Thread t = new Thread(() -> {
            loadSegmentClasses();
            Kernels kernels = Kernels.preferred();
            if (!(kernels instanceof VectorKernels)) return;
            KernelPrimer p = new KernelPrimer(kernels);
            running = p;
            try {
                p.run(CALLS, deadline);
            } catch (RuntimeException e) {
                // a matrix whose model closed meanwhile: nothing to prime any more
            } finally {
                running = null;
                lastKinds = p.primed.stream().map(KernelPrimer::kind).collect(java.util.stream.Collectors.toUnmodifiableSet());
            }
        }, "nq-kernel-primer");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static boolean started;

    /**
     * Loads every class of heap memory segment (a {@code MemorySegment.copy} to or from an array of a new element type
     * loads one) before C2 compiles a kernel. C2 compiles a segment's accessors for the classes loaded so far; a class
     * loaded later invalidates that code (a failed class-hierarchy dependency: {@code -Xlog:dependencies=debug}). In one
     * cold run the load's first byte-array segment threw away C2's panel and embedding kernels 6 s in, and the prefill
     * ran them in C1 until C2 had compiled them again.
     */
    static void loadSegmentClasses() {
        MemorySegment.ofArray(new byte[1]);
        MemorySegment.ofArray(new char[1]);
        MemorySegment.ofArray(new short[1]);
        MemorySegment.ofArray(new int[1]);
        MemorySegment.ofArray(new float[1]);
        MemorySegment.ofArray(new long[1]);
        MemorySegment.ofArray(new double[1]);
    }
    /** Whether a primer is taking matrices now (tests: a load that offers its matrices before the thread has set up finds none running). */
    static boolean isRunning() {
        return running != null;
    }

    /** The kinds ({@link #kind}) of the matrices the last primer primed (tests). */
    static volatile Set<String> lastKinds = Set.of();

    /**
     * A weight matrix as the model's load prepared it ({@link Kernels#prepare}); the running primer, if any, primes the
     * products over its kind (type, packed or not) once. Cheap when no primer runs.
     */
    public static void offer(Weights w) {
        KernelPrimer p = running;
        if (p != null && p.kinds.add(kind(w))) p.offered.add(w);
    }

    /** A matrix's kind for the primer: its type, and whether the kernels packed it. */
    static String kind(Weights w) {
        return w.type() + (w.packed() != null ? "+packed" : "");
    }

    /** The float kernels in the order a prefill first needs them, the offered matrices between them; until {@code deadline}. */
    void run(int calls, long deadline) {
        for (int i = 0; i < calls; i++) gemmPanel(i);
        takeOffered(0);
        for (int i = 0; i < calls; i++) scores(i);
        for (int i = 0; i < calls; i++) softmax(i);
        for (int i = 0; i < calls; i++) weightedSum(i);
        for (int i = 0; i < calls; i++) siluMul(i);
        takeOffered(0);
        for (Weights w : primed) decode(w, calls);
        int done = primed.size();
        while (System.nanoTime() < deadline) {
            if (!takeOffered(deadline - System.nanoTime())) break;
            for (; done < primed.size(); done++) decode(primed.get(done), calls);
        }
    }

    /** Primes the prefill's products over every matrix offered so far, waiting up to {@code nanos} for the first. */
    private boolean takeOffered(long nanos) {
        Weights w;
        try {
            w = nanos > 0 ? offered.poll(nanos, TimeUnit.NANOSECONDS) : offered.poll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (w == null) return false;
        for (; w != null; w = offered.poll()) {
            prefill(w, CALLS);
            primed.add(w);
        }
        return true;
    }

    /** 32 and 16 rows, 9 tokens (one block of 8 and the one-token tail). */
    void gemmPanel(int i) {
        int rows = (i & 1) == 0 ? Kernels.PANEL : 16;
        k.gemmPanel(panel, COLS, rows, x, 0, TOKENS, out, 0, Kernels.PANEL);
    }

    /**
     * 1 to 4 query rows against 64, 48, 16 and 32 keys of a chunk (whole vectors, as the dense cache scores them): every
     * row count's loops within the first 8 calls, before C2 compiles from the profile at these thresholds.
     */
    void scores(int i) {
        int rows = 1 + i % 4, tokens = SCORE_TOKENS[(i / 4) % 4];
        k.scores(q, 0, HEAD_DIM, rows, HEAD_DIM, kt, 0, CHUNK, tokens, 0.125f, s, 0, CHUNK);
    }

    /** 63, 5 and 32 scores of a row: the vector loop with and without the scalar tail, and the tail alone. */
    void softmax(int i) {
        int n = SOFTMAX_LENGTHS[i % 3];
        System.arraycopy(kt, 0, s, 0, n);
        k.expShifted(s, 0, n, 1f);
    }

    /** 1 to 4 rows of weights over 1 to 64 value rows. */
    void weightedSum(int i) {
        int rows = 1 + i % 4, tokens = 1 + (i * 13) % CHUNK;
        System.arraycopy(kt, 0, s, 0, 4 * CHUNK);
        k.weightedSum(s, 0, CHUNK, rows, v, 0, tokens, HEAD_DIM, o, 0, HEAD_DIM);
    }

    /** 200 and 193 values: the vector loop and its tail. */
    void siluMul(int i) {
        int n = FFN - 7 * (i & 1);
        System.arraycopy(up, 0, gate, 0, n);
        k.siluMul(gate, up, n);
    }

    /** A token's embedding row and a panel of the first (up to) 32 rows of {@code w}, as a prefill reads them. */
    void prefill(Weights w, int calls) {
        int cols = w.cols(), count = Math.min(Kernels.PANEL, w.rows());
        float[] rows = new float[count * cols], p = new float[cols * Kernels.PANEL];
        for (int i = 0; i < calls; i++) {
            k.dequantizeRows(w, i % count, 1, rows, 0);
            k.panel(w, 0, count, rows, p);
        }
    }

    /** The first (up to) 32 rows of {@code w} times one token, as the last token's logits are computed. */
    void decode(Weights w, int calls) {
        int cols = w.cols(), count = Math.min(Kernels.PANEL, w.rows());
        float[] xs = new float[cols], ys = new float[count];
        for (int c = 0; c < cols; c++) xs[c] = (c % 7 - 3) * 0.25f;
        for (int i = 0; i < calls; i++) k.dotRows(w, 0, count, xs, 0, ys, 0);
    }

    private static float[] fill(float[] a, SplittableRandom r) {
        for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextDouble() * 2 - 1) * 0.5f;
        return a;
    }
}
