package dev.nexusquant.kv;

import dev.nexusquant.engine.tensor.Kernels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.IntToLongFunction;

/**
 * Rate-distortion allocation of a byte budget across (layer, KV head)s, measured on the prompt itself.
 *
 * <p>For each head, {@link #measure} takes the head's old rows (those the plan decides about), their ranking
 * (sinks first, then by the eviction policy's score) and each candidate codec's decoded rows, and computes, for
 * {@link #SHARES} keep shares x {@link #KEY_CODECS} x {@link #VALUE_CODECS}, the squared error of the attention
 * output of the prompt's last {@link #QUERIES} queries (all query heads of the group) against exact attention over
 * every row ({@code planq=N} measures against the last N instead). Rows outside the options (young rows at their codecs, the full-precision window) take part as they will
 * be stored. {@link #choose} then starts every head at its cheapest option and repeatedly takes the step, on the
 * lower convex hull of each head's (bytes, error) options, that removes the most error per byte while it fits the
 * budget; what is left is spent on more rows at the chosen codecs, so the plan lands on the budget within about one
 * row's bytes per head.
 */
final class BudgetAllocator {

    /** Shares of the old rows kept (the sinks always are). */
    static final double[] SHARES = {0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7, 0.85, 1.0};
    static final String[] KEY_CODECS = {"e8:2", "e8:3", "e8:4"};
    /**
     * The key codecs offered when keys are coded by a KLT basis: 1 bit per value too, which the rates by variance make
     * about as good as the Hadamard rotation's 2 bits on the models measured (BENCHMARKS.md, "Keys coded by their
     * structure").
     */
    static final String[] KLT_KEY_CODECS = {"e8:1", "e8:2", "e8:3", "e8:4"};
    static final String[] VALUE_CODECS = {"e8:1", "e8:2", "e8:3"};
    /** The prompt's last queries whose attention output is measured, unless {@code planq=N} asks for another number. */
    static final int QUERIES = 16;

    private BudgetAllocator() {
    }

    /** The key codecs the allocator offers under these settings ({@link #KLT_KEY_CODECS} with {@code rot=klt|klt:k}). */
    static String[] keyCodecs(KvCompression cfg) {
        return cfg.kltKeys() ? KLT_KEY_CODECS : KEY_CODECS;
    }

    /**
     * What one head offers to measure.
     *
     * @param dim       head dimension
     * @param group     query heads per KV head
     * @param rows      rows the head holds: old rows {@code [0, old)}, young rows {@code [old, cand)}, window rows
     *                  {@code [cand, rows)}
     * @param keys      [rows][dim] exact keys as appended
     * @param values    [rows][dim] exact values
     * @param pos       [rows] positions
     * @param old       old rows (the options' rows)
     * @param cand      old + young rows (the rest is the full-precision window)
     * @param rank      [old] old rows in the order they are kept: sinks first, then by score
     * @param sinks     rows at the start of {@code rank} that are always kept
     * @param keyDec    [key codecs][old * dim] old keys coded with each key codec offered ({@link #keyCodecs}) and decoded
     * @param valueDec  [VALUE_CODECS][old * dim] old values likewise
     * @param youngKeys [(cand - old) * dim] young keys as stored, decoded (may be empty)
     * @param youngVals [(cand - old) * dim] young values likewise
     * @param queries   [nq][group * dim] the prompt's last queries (RoPE applied)
     * @param qpos      [nq] their positions
     * @param nq        queries given (the last QUERIES are used)
     * @param bytes     bytes of {@code n} old rows at key codec {@code kc} and value codec {@code vc}:
     *                  {@code bytes.get(kc, vc).applyAsLong(n)}
     */
    record HeadData(int dim, int group, int rows, float[] keys, float[] values, int[] pos, int old, int cand,
                    int[] rank, int sinks, float[][] keyDec, float[][] valueDec, float[] youngKeys, float[] youngVals,
                    float[] queries, int[] qpos, int nq, IntToLongFunction[][] bytes) {
    }

    /** One option of one head. */
    record Option(int keep, int keyCodec, int valueCodec, long bytes, double error) {
    }

    /** The rows kept at share {@code s} of {@code old} rows with {@code sinks} forced in. */
    static int keptAt(double s, int old, int sinks) {
        return (int) Math.min(old, Math.max(sinks, Math.round(s * old)));
    }

    /**
     * Every option of one head, with its measured error; the dot products and row sums run on {@code kn} (the
     * cache's kernels: vector lanes where available, each kernel with its scalar twin).
     */
    static List<Option> measure(HeadData d, Kernels kn) {
        return measure(d, QUERIES, kn);
    }

    /** {@link #measure(HeadData, Kernels)} against the last {@code queries} of the queries given (or all, when fewer). */
    static List<Option> measure(HeadData d, int queries, Kernels kn) {
        int dim = d.dim(), g = d.group(), old = d.old(), kc = d.keyDec().length, vc = VALUE_CODECS.length;
        int[] kept = new int[SHARES.length];
        for (int s = 0; s < SHARES.length; s++) kept[s] = keptAt(SHARES[s], old, d.sinks());
        double[][][] err = new double[SHARES.length][kc][vc];
        float scale = (float) (1.0 / Math.sqrt(dim));
        int nq = Math.min(queries, d.nq());
        float[] exact = new float[dim], acc = new float[dim];
        float[] lx = new float[d.rows()];
        float[][] lo = new float[kc][old];
        float[] ly = new float[d.cand() - old];
        float[][][] accV = new float[kc][vc][dim];
        double[] zz = new double[kc];
        int[] slotOf = new int[old]; // [old] row -> its place in the ranking
        for (int j = 0; j < old; j++) slotOf[d.rank()[j]] = j;
        for (int qi = d.nq() - nq; qi < d.nq(); qi++) {
            int qp = d.qpos()[qi];
            for (int h = 0; h < g; h++) {
                int qo = (qi * g + h) * dim;
                // exact attention over every visible row
                float mx = Float.NEGATIVE_INFINITY;
                for (int r = 0; r < d.rows(); r++) {
                    lx[r] = d.pos()[r] > qp ? Float.NEGATIVE_INFINITY : kn.dot(d.queries(), qo, d.keys(), r * dim, dim) * scale;
                    mx = Math.max(mx, lx[r]);
                }
                Arrays.fill(exact, 0);
                double z = 0;
                for (int r = 0; r < d.rows(); r++) {
                    if (lx[r] == Float.NEGATIVE_INFINITY) continue;
                    float e = (float) Math.exp(lx[r] - mx);
                    z += e;
                    kn.axpy(e, d.values(), r * dim, exact, 0, dim);
                }
                for (int i = 0; i < dim; i++) exact[i] /= (float) z;
                // approximations: old rows per key codec, young rows as stored, window rows exact
                float m = mx;
                for (int c = 0; c < kc; c++) {
                    for (int r = 0; r < old; r++) { // rows in storage order (streamed), logits in rank order
                        int j = slotOf[r];
                        lo[c][j] = d.pos()[r] > qp ? Float.NEGATIVE_INFINITY : kn.dot(d.queries(), qo, d.keyDec()[c], r * dim, dim) * scale;
                        m = Math.max(m, lo[c][j]);
                    }
                }
                for (int y = 0; y < ly.length; y++) {
                    ly[y] = d.pos()[old + y] > qp ? Float.NEGATIVE_INFINITY : kn.dot(d.queries(), qo, d.youngKeys(), y * dim, dim) * scale;
                    m = Math.max(m, ly[y]);
                }
                double baseZ = 0;
                Arrays.fill(acc, 0);
                for (int y = 0; y < ly.length; y++) {
                    if (ly[y] == Float.NEGATIVE_INFINITY) continue;
                    float e = (float) Math.exp(ly[y] - m);
                    baseZ += e;
                    kn.axpy(e, d.youngVals(), y * dim, acc, 0, dim);
                }
                for (int r = d.cand(); r < d.rows(); r++) {
                    if (lx[r] == Float.NEGATIVE_INFINITY) continue;
                    float e = (float) Math.exp(lx[r] - m);
                    baseZ += e;
                    kn.axpy(e, d.values(), r * dim, acc, 0, dim);
                }
                // every key codec's sums grow row by row together, so that each decoded value row is read from
                // memory once for all of them (each sum sees the same additions in the same order as one codec alone)
                for (int c = 0; c < kc; c++) {
                    zz[c] = baseZ;
                    for (int v = 0; v < vc; v++) System.arraycopy(acc, 0, accV[c][v], 0, dim);
                }
                int j = 0;
                for (int s = 0; s < SHARES.length; s++) {
                    for (; j < kept[s]; j++) {
                        int r = d.rank()[j];
                        for (int c = 0; c < kc; c++) {
                            if (lo[c][j] == Float.NEGATIVE_INFINITY) continue;
                            float e = (float) Math.exp(lo[c][j] - m);
                            zz[c] += e;
                            for (int v = 0; v < vc; v++) kn.axpy(e, d.valueDec()[v], r * dim, accV[c][v], 0, dim);
                        }
                    }
                    for (int c = 0; c < kc; c++) {
                        float inv = zz[c] > 0 ? (float) (1 / zz[c]) : 0;
                        for (int v = 0; v < vc; v++) {
                            double e2 = 0;
                            for (int i = 0; i < dim; i++) {
                                double dd = accV[c][v][i] * inv - exact[i];
                                e2 += dd * dd;
                            }
                            err[s][c][v] += e2;
                        }
                    }
                }
            }
        }
        List<Option> out = new ArrayList<>();
        for (int s = 0; s < SHARES.length; s++) {
            if (s > 0 && kept[s] == kept[s - 1]) continue;
            for (int c = 0; c < kc; c++) {
                for (int v = 0; v < vc; v++) {
                    out.add(new Option(kept[s], c, v, d.bytes()[c][v].applyAsLong(kept[s]), err[s][c][v]));
                }
            }
        }
        return out;
    }

    /** The lower convex hull of the options in (bytes, error), cheapest first, error strictly falling. */
    static List<Option> hull(List<Option> options) {
        List<Option> sorted = new ArrayList<>(options);
        sorted.sort((a, b) -> a.bytes() != b.bytes() ? Long.compare(a.bytes(), b.bytes()) : Double.compare(a.error(), b.error()));
        List<Option> h = new ArrayList<>();
        for (Option o : sorted) {
            if (!h.isEmpty() && o.error() >= h.getLast().error()) continue; // dominated
            while (h.size() >= 2) {
                Option a = h.get(h.size() - 2), b = h.getLast();
                // b is above the segment a-o: drop it
                double cross = (b.bytes() - a.bytes()) * (o.error() - a.error()) - (b.error() - a.error()) * (o.bytes() - a.bytes());
                if (cross <= 0) h.removeLast();
                else break;
            }
            h.add(o);
        }
        return h;
    }

    /**
     * The chosen option of every head for a budget of {@code budget} bytes over the options' rows, and the extra rows
     * spent on each (rows beyond the option's keep, at its codecs).
     *
     * @param perRow [heads] bytes of one more row at a head's codecs: {@code perRow[h].applyAsLong(option)}
     * @return [heads] the chosen options (their {@code keep} raised by the extra rows, {@code bytes} updated)
     */
    static Option[] choose(List<List<Option>> options, int[] oldRows, long budget, java.util.function.ToLongBiFunction<Integer, Option> bytesAt) {
        int n = options.size();
        List<List<Option>> hulls = new ArrayList<>();
        int[] at = new int[n];
        long spent = 0;
        for (List<Option> o : options) {
            List<Option> h = hull(o);
            hulls.add(h);
            spent += h.getFirst().bytes();
        }
        // steps by error removed per byte
        PriorityQueue<double[]> steps = new PriorityQueue<>((a, b) -> Double.compare(a[0], b[0]));
        for (int i = 0; i < n; i++) push(steps, hulls, at, i);
        List<Integer> blocked = new ArrayList<>();
        while (!steps.isEmpty()) {
            double[] st = steps.poll();
            int i = (int) st[1];
            Option cur = hulls.get(i).get(at[i]), next = hulls.get(i).get(at[i] + 1);
            long db = next.bytes() - cur.bytes();
            if (spent + db <= budget) {
                spent += db;
                at[i]++;
                push(steps, hulls, at, i);
            } else {
                blocked.add(i); // in the order of their best next step
            }
        }
        Option[] chosen = new Option[n];
        for (int i = 0; i < n; i++) chosen[i] = hulls.get(i).get(at[i]);
        // the rest: more rows at the chosen codecs, where the next step was most worth it first
        List<Integer> order = new ArrayList<>(blocked);
        for (int i = 0; i < n; i++) if (!order.contains(i)) order.add(i);
        for (int i : order) {
            Option c = chosen[i];
            int lo = c.keep(), hi = oldRows[i];
            if (lo >= hi) continue;
            // the most rows that still fit (bytes grow with rows)
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                long b = bytesAt.applyAsLong(i, new Option(mid, c.keyCodec(), c.valueCodec(), 0, 0));
                if (spent - c.bytes() + b <= budget) lo = mid;
                else hi = mid - 1;
            }
            if (lo > c.keep()) {
                long b = bytesAt.applyAsLong(i, new Option(lo, c.keyCodec(), c.valueCodec(), 0, 0));
                spent += b - c.bytes();
                chosen[i] = new Option(lo, c.keyCodec(), c.valueCodec(), b, c.error());
            }
        }
        return chosen;
    }

    private static void push(PriorityQueue<double[]> steps, List<List<Option>> hulls, int[] at, int i) {
        List<Option> h = hulls.get(i);
        if (at[i] + 1 >= h.size()) return;
        Option cur = h.get(at[i]), next = h.get(at[i] + 1);
        double slope = (next.error() - cur.error()) / Math.max(1, next.bytes() - cur.bytes()); // negative: error removed per byte
        steps.add(new double[]{slope, i});
    }
}
