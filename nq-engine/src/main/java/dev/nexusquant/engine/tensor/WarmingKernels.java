package dev.nexusquant.engine.tensor;

/**
 * The vector kernels, with their scalar twins standing in while the JIT has not yet compiled them: a new process runs
 * the Vector API code in the interpreter and C1, where every vector operation is boxed (one prefill panel ~1 s instead
 * of ~20 ms), until C2 delivers it seconds later; scalar code compiles in C1 within milliseconds and runs there at a
 * fair fraction of its final speed. For each of the prefill's kernels ({@link #panel}, {@link #gemmPanel},
 * {@link #scores}, {@link #weightedSum}, {@link #expShifted}, {@link #siluMul}) a {@link KernelRace} times the calls
 * of both twins and moves to the vector twin for good once it runs faster per element; every other kernel is the
 * vector twin's from the start.
 *
 * <p>The twins of the routed kernels compute the same bits (the scalar ones are written in the vector lanes' order,
 * {@link ScalarKernels#matching}), so a result never depends on which twin ran ({@code LaneExactTwinsTest},
 * {@code WarmingKernelsTest}).
 *
 * <p><b>Off by default</b> ({@code -Dnq.kernelWarmup=true} turns it on for {@link Kernels#preferred()}): it did not
 * shorten a cold start. The JIT compiles a vector kernel after a fixed count of its loop iterations, so the vector
 * slices that trigger it cost about what the uncompiled whole calls cost without the stand-ins; only the wait for C2's
 * code is saved, and a kernel called rarely (SiLU: once per layer and batch) stays on its stand-in into the next
 * generation. Project model, 904-token prompt, 1 thread, load 8-10: CPU at the first token 8.27 s against 8.99 s
 * (medians of 3 rounds), wall-clock time 15.4 s against 13.1 s, the warm first token 1.55 s against 0.99 s
 * (BENCHMARKS.md, "Cold start", 2026-12-04).
 */
final class WarmingKernels implements Kernels {

    /** The system property that turns the scalar stand-ins on: {@code -Dnq.kernelWarmup=true}. */
    static final String PROPERTY = "nq.kernelWarmup";

    private final Kernels vector;
    private final ScalarKernels scalar;
    final KernelRace panel = new KernelRace("panel"), gemmPanel = new KernelRace("gemmPanel"),
            scores = new KernelRace("scores"), weightedSum = new KernelRace("weightedSum"),
            expShifted = new KernelRace("expShifted"), siluMul = new KernelRace("siluMul");

    /**
     * @param vector the vector kernels
     * @param scalar their scalar twins, the same bits for the routed kernels ({@link ScalarKernels#matching} of the
     *               vector kernels' lanes)
     */
    WarmingKernels(Kernels vector, ScalarKernels scalar) {
        this.vector = vector;
        this.scalar = scalar;
    }

    /** Whether {@code -Dnq.kernelWarmup=true} turns the scalar stand-ins on (off by default). */
    static boolean enabled() {
        return "true".equalsIgnoreCase(System.getProperty(PROPERTY, "false").trim());
    }

    @Override
    public String name() {
        return vector.name() + "+warmup";
    }

    // ---- routed: the prefill's kernels ----

    /**
     * Until the vector twin has won, it decodes the first 16 rows of a panel of more (zeros in the other lanes) and the
     * scalar twin the rest into their lanes; smaller panels alternate.
     */
    @Override
    public void panel(Weights w, int row, int count, float[] rows, float[] panel) {
        KernelRace race = this.panel;
        if (race.vectorWon()) {
            vector.panel(w, row, count, rows, panel);
            return;
        }
        int slice = PANEL / 2;
        if (count > slice) {
            long t0 = System.nanoTime();
            vector.panel(w, row, slice, rows, panel);
            long t1 = System.nanoTime();
            scalar.panelLanes(w, row, count, slice, rows, panel);
            race.recordSlice(t1 - t0, (long) slice * w.cols(), System.nanoTime() - t1, (long) (count - slice) * w.cols());
            return;
        }
        boolean v = race.sampleVector();
        long t0 = System.nanoTime();
        if (v) vector.panel(w, row, count, rows, panel);
        else scalar.panel(w, row, count, rows, panel);
        race.record(v, System.nanoTime() - t0, (long) count * w.cols());
    }

    /**
     * Until the vector twin has won, its first token block (8 tokens with 16 lanes, 6 with 8: the scalar twin's chains
     * restart at a block's edge) goes to the vector twin and the rest to the scalar twin; smaller calls alternate.
     */
    @Override
    public void gemmPanel(float[] panel, int cols, int rows, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        KernelRace race = gemmPanel;
        if (race.vectorWon()) {
            vector.gemmPanel(panel, cols, rows, x, xOff, tokens, out, outOff, outStride);
            return;
        }
        int slice = scalar.lanes() == 16 ? 8 : 6;
        long perToken = (long) cols * PANEL; // the vector twin computes all PANEL rows
        if (tokens >= 2 * slice) {
            long t0 = System.nanoTime();
            vector.gemmPanel(panel, cols, rows, x, xOff, slice, out, outOff, outStride);
            long t1 = System.nanoTime();
            scalar.gemmPanel(panel, cols, rows, x, xOff + slice * cols, tokens - slice, out, outOff + slice * outStride, outStride);
            race.recordSlice(t1 - t0, slice * perToken, System.nanoTime() - t1, (tokens - slice) * perToken);
            return;
        }
        boolean v = race.sampleVector();
        long t0 = System.nanoTime();
        if (v) vector.gemmPanel(panel, cols, rows, x, xOff, tokens, out, outOff, outStride);
        else scalar.gemmPanel(panel, cols, rows, x, xOff, tokens, out, outOff, outStride);
        race.record(v, System.nanoTime() - t0, tokens * perToken);
    }

    /**
     * Until the vector twin has won, its first {@code lanes} tokens (a multiple of the lanes: the tokens left to a plain
     * tail stay the same) go to the vector twin and the rest to the scalar twin; smaller calls alternate (the dense
     * cache's chunks hold 64 tokens).
     */
    @Override
    public void scores(float[] q, int qOff, int qStride, int rows, int headDim, float[] kt, int ktOff, int ktStride, int tokens,
                       float scale, float[] s, int sOff, int sStride) {
        KernelRace race = scores;
        if (race.vectorWon()) {
            vector.scores(q, qOff, qStride, rows, headDim, kt, ktOff, ktStride, tokens, scale, s, sOff, sStride);
            return;
        }
        int slice = scalar.lanes();
        long perToken = (long) rows * headDim;
        if (tokens >= 2 * slice) {
            long t0 = System.nanoTime();
            vector.scores(q, qOff, qStride, rows, headDim, kt, ktOff, ktStride, slice, scale, s, sOff, sStride);
            long t1 = System.nanoTime();
            scalar.scores(q, qOff, qStride, rows, headDim, kt, ktOff + slice, ktStride, tokens - slice, scale, s, sOff + slice, sStride);
            race.recordSlice(t1 - t0, slice * perToken, System.nanoTime() - t1, (tokens - slice) * perToken);
            return;
        }
        boolean v = race.sampleVector();
        long t0 = System.nanoTime();
        if (v) vector.scores(q, qOff, qStride, rows, headDim, kt, ktOff, ktStride, tokens, scale, s, sOff, sStride);
        else scalar.scores(q, qOff, qStride, rows, headDim, kt, ktOff, ktStride, tokens, scale, s, sOff, sStride);
        race.record(v, System.nanoTime() - t0, tokens * perToken);
    }

    /**
     * Until the vector twin has won, the first 16 tokens go to the vector twin and the scalar twin carries each sum on
     * from where it stopped (every output is one chain over the tokens, in order); smaller calls alternate.
     */
    @Override
    public void weightedSum(float[] p, int pOff, int pStride, int rows, float[] v, int vOff, int tokens, int headDim,
                            float[] out, int oOff, int oStride) {
        KernelRace race = weightedSum;
        if (race.vectorWon()) {
            vector.weightedSum(p, pOff, pStride, rows, v, vOff, tokens, headDim, out, oOff, oStride);
            return;
        }
        int slice = 16;
        long perToken = (long) rows * headDim;
        if (tokens >= 2 * slice) {
            long t0 = System.nanoTime();
            vector.weightedSum(p, pOff, pStride, rows, v, vOff, slice, headDim, out, oOff, oStride);
            long t1 = System.nanoTime();
            scalar.weightedSum(p, pOff + slice, pStride, rows, v, vOff + slice * headDim, tokens - slice, headDim, out, oOff, oStride);
            race.recordSlice(t1 - t0, slice * perToken, System.nanoTime() - t1, (tokens - slice) * perToken);
            return;
        }
        boolean vec = race.sampleVector();
        long t0 = System.nanoTime();
        if (vec) vector.weightedSum(p, pOff, pStride, rows, v, vOff, tokens, headDim, out, oOff, oStride);
        else scalar.weightedSum(p, pOff, pStride, rows, v, vOff, tokens, headDim, out, oOff, oStride);
        race.record(vec, System.nanoTime() - t0, tokens * perToken);
    }

    /**
     * Until the vector twin has won, the first eighth of the elements (rounded down to whole vectors) go to the vector
     * twin and the scalar twin does the rest and sums all of them in the vector twin's order; smaller calls alternate.
     */
    @Override
    public float expShifted(float[] x, int off, int n, float max) {
        KernelRace race = expShifted;
        if (race.vectorWon()) return vector.expShifted(x, off, n, max);
        int lanes = scalar.lanes(), slice = n / 8 / lanes * lanes;
        if (slice >= 2 * lanes) {
            long t0 = System.nanoTime();
            vector.expShifted(x, off, slice, max);
            long t1 = System.nanoTime();
            float sum = scalar.expShifted(x, off, n, max, slice);
            race.recordSlice(t1 - t0, slice, System.nanoTime() - t1, n - slice);
            return sum;
        }
        boolean v = race.sampleVector();
        long t0 = System.nanoTime();
        float sum = v ? vector.expShifted(x, off, n, max) : scalar.expShifted(x, off, n, max);
        race.record(v, System.nanoTime() - t0, n);
        return sum;
    }

    /**
     * Until the vector twin has won, the first eighth of the elements (rounded down to whole vectors) go to the vector
     * twin and the rest to the scalar twin; smaller calls alternate.
     */
    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        KernelRace race = siluMul;
        if (race.vectorWon()) {
            vector.siluMul(gate, up, n);
            return;
        }
        int lanes = scalar.lanes(), slice = n / 8 / lanes * lanes;
        if (slice >= 2 * lanes) {
            long t0 = System.nanoTime();
            vector.siluMul(gate, up, slice);
            long t1 = System.nanoTime();
            scalar.siluMul(gate, up, slice, n);
            race.recordSlice(t1 - t0, slice, System.nanoTime() - t1, n - slice);
            return;
        }
        boolean v = race.sampleVector();
        long t0 = System.nanoTime();
        if (v) vector.siluMul(gate, up, n);
        else scalar.siluMul(gate, up, n);
        race.record(v, System.nanoTime() - t0, n);
    }

    // ---- the vector twin's from the start ----

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return vector.dot(a, aOff, b, bOff, n);
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        vector.axpy(alpha, x, xOff, y, yOff, n);
    }

    @Override
    public float dotF16(float[] a, int aOff, short[] b, int bOff, int n) {
        return vector.dotF16(a, aOff, b, bOff, n);
    }

    @Override
    public void axpyF16(float alpha, short[] x, int xOff, float[] y, int yOff, int n) {
        vector.axpyF16(alpha, x, xOff, y, yOff, n);
    }

    @Override
    public float dotRow(Weights w, int row, float[] x, int xOff) {
        return vector.dotRow(w, row, x, xOff);
    }

    @Override
    public void dotRows(Weights w, int from, int to, float[] x, int xOff, float[] out, int outOff) {
        vector.dotRows(w, from, to, x, xOff, out, outOff);
    }

    @Override
    public Weights prepare(Weights w, java.lang.foreign.Arena arena) {
        return vector.prepare(w, arena);
    }

    @Override
    public void dequantizeRows(Weights w, int row, int count, float[] dst, int dstOff) {
        vector.dequantizeRows(w, row, count, dst, dstOff);
    }

    @Override
    public void gemmTile(float[] a, int rows, int cols, float[] x, int xOff, int tokens, float[] out, int outOff, int outStride) {
        vector.gemmTile(a, rows, cols, x, xOff, tokens, out, outOff, outStride);
    }

    @Override
    public void toPanel(float[] rows, int count, int cols, float[] panel) {
        vector.toPanel(rows, count, cols, panel);
    }

    @Override
    public void scoresF16(float[] q, int qOff, int qStride, int rows, int headDim, short[] kt, int ktOff, int ktStride, int tokens,
                          float scale, float[] s, int sOff, int sStride) {
        vector.scoresF16(q, qOff, qStride, rows, headDim, kt, ktOff, ktStride, tokens, scale, s, sOff, sStride);
    }

    @Override
    public void weightedSumF16(float[] p, int pOff, int pStride, int rows, short[] v, int vOff, int tokens, int headDim,
                               float[] out, int oOff, int oStride) {
        vector.weightedSumF16(p, pOff, pStride, rows, v, vOff, tokens, headDim, out, oOff, oStride);
    }
}
