package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.eviction.Budget;
import dev.nexusquant.codec.eviction.Evictor;
import dev.nexusquant.codec.eviction.KeepRule;
import dev.nexusquant.codec.importance.GqaReduce;
import dev.nexusquant.codec.importance.H2OAccumulator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.IntToLongFunction;

/**
 * The compressed segments of one (layer, KV head), oldest positions first, with every byte they take counted in the
 * cache's {@link MemoryAccount}. Segments are added when rows leave the full-precision window and re-coded with the
 * aged codecs when they age ({@link #age}).
 */
final class SegmentStore {

    /**
     * Rows an aged run may hold: a segment that ages joins the aged segment before it (same codecs) while both hold
     * at most this many rows together, so that many aged blocks share one position header and bitmap instead of
     * 20 bytes of positions per block of 16 rows (measured on both models' development chunks under streaming:
     * 0.03-0.23 points less loss in 5 of 6 preset cells, one 0.03 worse; BENCHMARKS.md). The copy a join makes is
     * at most this many rows.
     */
    static final int RUN_ROWS = 256;

    private final int dim;
    private final int runRows;
    private final MemoryAccount account;
    private final ArrayList<Segment> segments = new ArrayList<>();
    private int firstUnaged; // segments before it are all aged

    SegmentStore(int dim, MemoryAccount account) {
        this(dim, account, RUN_ROWS);
    }

    /** @param runRows rows an aged run may hold (see {@link #RUN_ROWS}); 0 = aged segments never join */
    SegmentStore(int dim, MemoryAccount account, int runRows) {
        if (runRows < 0) throw new IllegalArgumentException("runRows " + runRows);
        this.dim = dim;
        this.account = account;
        this.runRows = runRows;
    }

    /** The segments, oldest first (read-only). */
    List<Segment> list() {
        return Collections.unmodifiableList(segments);
    }

    boolean isEmpty() {
        return segments.isEmpty();
    }

    /** Index of the first segment that may still age (those before it are all aged). */
    int firstUnaged() {
        return firstUnaged;
    }

    /** Replaces the segments with those of a saved state (the caller counts their bytes). */
    void restore(List<Segment> saved, int firstUnaged) {
        if (firstUnaged < 0 || firstUnaged > saved.size()) throw new IllegalArgumentException("firstUnaged " + firstUnaged);
        segments.clear();
        segments.addAll(saved);
        this.firstUnaged = firstUnaged;
    }

    /** Rows held in all segments. */
    int rows() {
        int n = 0;
        for (Segment s : segments) n += s.rows();
        return n;
    }

    /** Bytes of the segments' arrays and of their attention-mass accumulators. */
    long bytes() {
        long b = 0;
        for (Segment s : segments) b += s.bytes() + (s.mass() == null ? 0 : s.mass().bytes());
        return b;
    }

    /**
     * Codes rows {@code [from, from + n)} of the stored-form rows {@code kk, vv} ([rows][dim], positions {@code kp})
     * into a new segment.
     *
     * @param trackMass give the segment an attention-mass accumulator (it will be ranked when it ages)
     */
    void add(int[] kp, float[] kk, float[] vv, int from, int n, VectorCompressor kc, VectorCompressor vc,
             boolean aged, boolean trackMass) {
        long add = CodedRows.bytesFor(kc, n) + CodedRows.bytesFor(vc, n) + 12 + 8L * n; // positions: <= 8 bytes a token
        account.check(add);
        int[] p = Arrays.copyOfRange(kp, from, from + n);
        H2OAccumulator mass = trackMass ? new H2OAccumulator(n, GqaReduce.SUM) : null;
        if (mass != null) account.addAccumulators(mass.bytes());
        Segment seg = new Segment(new PositionSet(p, n), CodedRows.encode(kc, kk, from * dim, n),
                CodedRows.encode(vc, vv, from * dim, n), aged, mass);
        segments.add(seg);
        account.add(seg.bytes());
    }

    /**
     * Re-codes with the aged codecs the young segments whose newest row is older than {@code limit}: precision
     * decays with age. Segments with an attention-mass accumulator are first cut to the eviction policy's share,
     * ranked by the mean attention their rows received while young. The codes are decoded to the storage domain and
     * coded again; rotation, centring and positions stay.
     */
    void age(int limit, java.util.function.IntUnaryOperator keepCount, VectorCompressor agedKeys, VectorCompressor agedValues) {
        age(limit, (n, seg, positionBytes) -> keepCount.applyAsInt(n), agedKeys, agedValues);
    }

    /** How many of a segment's {@code n} rows to keep when it ages. */
    interface AgingKeep {
        /**
         * @param positionBytes bytes the positions of {@code k} kept rows will add (a bound: the segment's own
         *                      position set, or what joining the aged run before it adds)
         */
        int keep(int n, Segment segment, IntToLongFunction positionBytes);
    }

    /** As {@link #age(int, java.util.function.IntUnaryOperator, VectorCompressor, VectorCompressor)}, the count chosen per segment. */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues) {
        age(limit, keepCount, agedKeys, agedValues, 0);
    }

    /** As above; rows at positions below {@code sinks} are always kept (attention sinks). */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues, int sinks) {
        age(limit, keepCount, agedKeys, agedValues, sinks, (received, values, n) -> received);
    }

    /** How the rows of an aging segment are ranked, from the mean attention they received while young. */
    interface AgingScores {
        /**
         * @param received [n] mean attention each row received while young
         * @param values   [n][dim] the rows' values in their stored form
         * @return [n] scores, higher kept first
         */
        float[] scores(float[] received, float[] values, int n);

        /** As above, with the rows' positions ([n], ascending); by default they are not used. */
        default float[] scores(float[] received, float[] values, int[] positions, int n) {
            return scores(received, values, n);
        }
    }

    /** As above, the rows ranked by {@code ranking} (segments without an attention-mass accumulator are not cut). */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues, int sinks,
             AgingScores ranking) {
        age(limit, keepCount, agedKeys, agedValues, sinks, ranking, false);
    }

    /**
     * As above; with {@code cutWithoutMass} young segments without an accumulator are cut too, ranked by
     * {@code ranking} with the received attention all ones (a ranking that does not use it, by value norms).
     */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues, int sinks,
             AgingScores ranking, boolean cutWithoutMass) {
        age(limit, keepCount, agedKeys, agedValues, sinks, ranking, cutWithoutMass, 0);
    }

    /**
     * As above; with {@code tail > 0}, a segment that is cut and joins the aged run before it competes with the run's
     * newest {@code tail} rows (sinks excepted): of those and its own rows, the best-ranked (the tail's count plus
     * what the segment may keep) stay, so that a row kept earlier gives way to a better one aging later and the
     * choice is made among more rows than one block. The rows that stay keep their codes; the run's bytes change
     * only by the positions. ({@code agetail=N})
     */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues, int sinks,
             AgingScores ranking, boolean cutWithoutMass, int tail) {
        for (int i = firstUnaged; i < segments.size(); i++) {
            Segment seg = segments.get(i);
            if (seg.aged()) {
                if (i == firstUnaged) firstUnaged++;
                continue;
            }
            if (i < firstUnaged) continue;
            if (seg.positions().last() >= limit) break;
            int n = seg.rows();
            float[] k = new float[n * dim], v = new float[n * dim];
            seg.keys().decode(0, n, k, 0);
            seg.values().decode(0, n, v, 0);
            int[] pos = new int[n];
            seg.positions().decode(0, n, pos);
            int kept = n;
            Segment prev = i > 0 ? segments.get(i - 1) : null;
            boolean join = joins(prev, seg, agedKeys, agedValues);
            long span = seg.positions().last() - seg.positions().first() + 1L;
            IntToLongFunction positionBytes = join
                    ? c -> c == 0 ? 0 : BudgetPlanner.positionBytes(prev.rows() + c, seg.positions().last() - prev.positions().first() + 1L)
                            - prev.positions().bytes()
                    : c -> BudgetPlanner.positionBytes(c, span);
            if (tail > 0 && join && seg.mass() == null && cutWithoutMass) {
                int k0 = keepCount.keep(n, seg, positionBytes);
                Segment run = recompete(prev, seg, k, v, pos, n, Math.min(n, Math.max(0, k0)), tail, sinks, agedKeys, agedValues, ranking);
                segments.set(i - 1, run);
                segments.remove(i);
                account.add(run.bytes() - prev.bytes() - seg.bytes());
                i--;
                continue;
            }
            if (seg.mass() != null || cutWithoutMass) {
                float[] received;
                if (seg.mass() != null) {
                    received = Arrays.copyOf(seg.mass().normalizedScores(), n);
                } else {
                    received = new float[n];
                    Arrays.fill(received, 1f);
                }
                float[] score = ranking.scores(received, v, pos, n);
                int s0 = 0;
                while (s0 < n && pos[s0] < sinks) s0++;
                int[] keep = Evictor.select(score, n, new KeepRule(s0, 0, Budget.tokens(Math.max(s0, keepCount.keep(n, seg, positionBytes)))));
                kept = keep.length;
                for (int j = 0; j < kept; j++) {
                    System.arraycopy(k, keep[j] * dim, k, j * dim, dim);
                    System.arraycopy(v, keep[j] * dim, v, j * dim, dim);
                    pos[j] = pos[keep[j]];
                }
                if (seg.mass() != null) account.addAccumulators(-seg.mass().bytes());
            }
            if (kept == 0) {
                segments.remove(i);
                account.add(-seg.bytes());
                i--;
                continue;
            }
            long add = CodedRows.bytesFor(agedKeys, kept) + CodedRows.bytesFor(agedValues, kept);
            account.check(Math.max(0, add - seg.keys().bytes() - seg.values().bytes()));
            CodedRows keys = CodedRows.encode(agedKeys, k, 0, kept), values = CodedRows.encode(agedValues, v, 0, kept);
            if (join) {
                // the run before it grows: its rows, then these (positions ascend across segments)
                int pn = prev.rows();
                int[] all = new int[pn + kept];
                prev.positions().decode(0, pn, all);
                System.arraycopy(pos, 0, all, pn, kept);
                Segment run = new Segment(new PositionSet(all, pn + kept), concat(prev.keys(), keys), concat(prev.values(), values),
                        true, null);
                segments.set(i - 1, run);
                segments.remove(i);
                account.add(run.bytes() - prev.bytes() - seg.bytes());
                i--; // the next segment moved to index i (firstUnaged, if it was i, now names it)
                continue;
            }
            Segment aged = new Segment(kept == n ? seg.positions() : new PositionSet(pos, kept), keys, values, true, null);
            segments.set(i, aged);
            account.add(aged.bytes() - seg.bytes());
            if (i == firstUnaged) firstUnaged++;
        }
    }

    /**
     * The aged run {@code prev} joined by the aging segment's rows ({@code k, v, pos}: [n][dim] young-decoded, [n]),
     * its newest {@code tail} rows (not sinks) and the segment's rows ranked together and cut to the tail's count plus
     * {@code keep}.
     */
    private Segment recompete(Segment prev, Segment seg, float[] k, float[] v, int[] pos, int n, int keep, int tail,
                              int sinks, VectorCompressor agedKeys, VectorCompressor agedValues, AgingScores ranking) {
        int pn = prev.rows();
        int[] ppos = new int[pn];
        prev.positions().decode(0, pn, ppos);
        int t = 0;
        while (t < Math.min(tail, pn) && ppos[pn - 1 - t] >= sinks) t++;
        int c = t + n;
        float[] cv = new float[c * dim];
        int[] cpos = new int[c];
        prev.values().decode(pn - t, t, cv, 0);
        // the aging rows' values as the aged codecs will store them: ranked at the same precision as the run's
        CodedRows.encode(agedValues, v, 0, n).decode(0, n, cv, t * dim);
        System.arraycopy(ppos, pn - t, cpos, 0, t);
        System.arraycopy(pos, 0, cpos, t, n);
        float[] ones = new float[c];
        Arrays.fill(ones, 1f);
        float[] score = ranking.scores(ones, cv, cpos, c);
        int[] chosen = Evictor.select(score, c, new KeepRule(0, 0, Budget.tokens(t + keep)));
        Arrays.sort(chosen);
        int m = pn - t + chosen.length;
        int bk = agedKeys.bytesPerBlock(), bv = agedValues.bytesPerBlock();
        byte[] pk = prev.keys().blocks(), pv = prev.values().blocks();
        byte[] nk = new byte[m * bk], nv = new byte[m * bv];
        System.arraycopy(pk, 0, nk, 0, (pn - t) * bk);
        System.arraycopy(pv, 0, nv, 0, (pn - t) * bv);
        int[] all = Arrays.copyOf(ppos, m);
        int at = pn - t;
        for (int j : chosen) {
            if (j < t) { // a row of the run: its codes as they are
                System.arraycopy(pk, (pn - t + j) * bk, nk, at * bk, bk);
                System.arraycopy(pv, (pn - t + j) * bv, nv, at * bv, bv);
            } else { // a row aging now: coded with the aged codecs
                int r = j - t;
                agedKeys.encodeBlock(k, r * dim, nk, at * bk);
                agedValues.encodeBlock(v, r * dim, nv, at * bv);
            }
            all[at++] = cpos[j];
        }
        account.check(Math.max(0, (long) (m - pn) * (bk + bv)));
        return new Segment(new PositionSet(all, m), CodedRows.of(agedKeys, nk, m), CodedRows.of(agedValues, nv, m), true, null);
    }

    /**
     * Whether {@code seg}, aging now, joins the aged segment {@code prev} before it: aged runs are on, both together
     * fit in a run, the codecs are the aged ones of this aging with one row per block (so that the coded blocks
     * concatenate), and the run's gaps stay within the 16 bits a position set stores.
     */
    private boolean joins(Segment prev, Segment seg, VectorCompressor agedKeys, VectorCompressor agedValues) {
        return runRows > 0 && prev != null && prev.aged() && prev.mass() == null
                && prev.rows() + seg.rows() <= runRows
                && seg.positions().last() - prev.positions().first() < 0xFFFF
                && sameCodec(prev.keys().codec(), agedKeys) && sameCodec(prev.values().codec(), agedValues);
    }

    /** The same coding (as a saved state identifies codecs: by descriptor), one row per block. */
    private static boolean sameCodec(VectorCompressor a, VectorCompressor b) {
        if (a.vectorsPerBlock() != 1 || b.vectorsPerBlock() != 1) return false;
        return a == b || a.descriptor().equals(b.descriptor());
    }

    /** Rows of {@code a} then rows of {@code b}, coded with the same one-row-per-block codec. */
    private static CodedRows concat(CodedRows a, CodedRows b) {
        byte[] x = a.blocks(), y = b.blocks();
        byte[] all = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, all, x.length, y.length);
        return CodedRows.of(a.codec(), all, a.rows() + b.rows());
    }
}
