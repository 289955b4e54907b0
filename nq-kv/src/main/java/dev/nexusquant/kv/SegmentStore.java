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

/**
 * The compressed segments of one (layer, KV head), oldest positions first, with every byte they take counted in the
 * cache's {@link MemoryAccount}. Segments are added when rows leave the full-precision window and re-coded with the
 * aged codecs when they age ({@link #age}).
 */
final class SegmentStore {

    private final int dim;
    private final MemoryAccount account;
    private final ArrayList<Segment> segments = new ArrayList<>();
    private int firstUnaged; // segments before it are all aged

    SegmentStore(int dim, MemoryAccount account) {
        this.dim = dim;
        this.account = account;
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
        age(limit, (n, seg) -> keepCount.applyAsInt(n), agedKeys, agedValues);
    }

    /** How many of a segment's {@code n} rows to keep when it ages. */
    interface AgingKeep {
        int keep(int n, Segment segment);
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
    }

    /** As above, the rows ranked by {@code ranking}. */
    void age(int limit, AgingKeep keepCount, VectorCompressor agedKeys, VectorCompressor agedValues, int sinks,
             AgingScores ranking) {
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
            if (seg.mass() != null) {
                float[] score = ranking.scores(Arrays.copyOf(seg.mass().normalizedScores(), n), v, n);
                int s0 = 0;
                while (s0 < n && pos[s0] < sinks) s0++;
                int[] keep = Evictor.select(score, n, new KeepRule(s0, 0, Budget.tokens(Math.max(s0, keepCount.keep(n, seg)))));
                kept = keep.length;
                for (int j = 0; j < kept; j++) {
                    System.arraycopy(k, keep[j] * dim, k, j * dim, dim);
                    System.arraycopy(v, keep[j] * dim, v, j * dim, dim);
                    pos[j] = pos[keep[j]];
                }
                account.addAccumulators(-seg.mass().bytes());
            }
            if (kept == 0) {
                segments.remove(i);
                account.add(-seg.bytes());
                i--;
                continue;
            }
            long add = CodedRows.bytesFor(agedKeys, kept) + CodedRows.bytesFor(agedValues, kept);
            account.check(Math.max(0, add - seg.keys().bytes() - seg.values().bytes()));
            Segment aged = new Segment(kept == n ? seg.positions() : new PositionSet(pos, kept),
                    CodedRows.encode(agedKeys, k, 0, kept), CodedRows.encode(agedValues, v, 0, kept), true, null);
            segments.set(i, aged);
            account.add(aged.bytes() - seg.bytes());
            if (i == firstUnaged) firstUnaged++;
        }
    }
}
