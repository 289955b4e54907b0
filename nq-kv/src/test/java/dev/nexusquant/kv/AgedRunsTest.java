package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.VectorCompressor;
import dev.nexusquant.codec.e8.E8Codec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Aged segments joining the aged run before them (SegmentStore with runRows > 0). */
class AgedRunsTest {

    static final int DIM = 16;
    static final VectorCompressor YOUNG = E8Codec.of(DIM, 4);
    static final VectorCompressor AGED = E8Codec.of(DIM, 2);

    /** [rows][DIM] seeded rows. */
    static float[] rows(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * DIM];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** Four young blocks of 16 rows at positions 100..163 (every position), each with an attention accumulator. */
    static SegmentStore fourBlocks(MemoryAccount account, int runRows, float[] k, float[] v, int[] pos, boolean mass) {
        SegmentStore s = new SegmentStore(DIM, account, runRows);
        for (int b = 0; b < 4; b++) s.add(pos, k, v, 16 * b, 16, YOUNG, YOUNG, false, mass);
        return s;
    }

    static int[] positions(int first, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = first + i;
        return p;
    }

    /** Rows {@code [from, from + n)} of {@code x} as aging codes them: young codes decoded, then coded aged. [n][DIM] */
    static float[] agedFromYoung(float[] x, int from, int n) {
        float[] young = new float[n * DIM];
        CodedRows.encode(YOUNG, x, from * DIM, n).decode(0, n, young, 0);
        float[] out = new float[n * DIM];
        CodedRows.encode(AGED, young, 0, n).decode(0, n, out, 0);
        return out;
    }

    static long held(SegmentStore s) {
        long b = 0;
        for (Segment g : s.list()) b += g.bytes() + (g.mass() == null ? 0 : g.mass().bytes());
        return b;
    }

    @Test
    void blocksThatAgeJoinTheRunBeforeThemUpToItsRows() {
        float[] k = rows(64, 1), v = rows(64, 2);
        int[] pos = positions(100, 64);
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = fourBlocks(acc, 32, k, v, pos, false);
        s.age(1000, n -> n, AGED, AGED);
        List<Segment> segs = s.list();
        assertEquals(2, segs.size(), "16 + 16 rows per run of at most 32");
        assertEquals(32, segs.get(0).rows());
        assertEquals(32, segs.get(1).rows());
        assertTrue(segs.get(0).aged() && segs.get(1).aged());
        assertEquals(2, s.firstUnaged());
        // the joined codes are the rows coded one by one (one row per block), positions in order
        for (int r = 0; r < 2; r++) {
            Segment g = segs.get(r);
            float[] got = new float[32 * DIM];
            g.keys().decode(0, 32, got, 0);
            assertArrayEquals(agedFromYoung(k, 32 * r, 32), got);
            g.values().decode(0, 32, got, 0);
            assertArrayEquals(agedFromYoung(v, 32 * r, 32), got);
            int[] p = new int[32];
            g.positions().decode(0, 32, p);
            assertArrayEquals(positions(100 + 32 * r, 32), p);
        }
        // every byte counted: two position headers and bitmaps instead of four
        assertEquals(held(s), acc.held());
        assertEquals(2 * (12 + 8) + 4 * 16 * 2L * AGED.bytesPerBlock(), acc.held());
    }

    @Test
    void withoutRunsEveryBlockKeepsItsOwnSegment() {
        float[] k = rows(64, 1), v = rows(64, 2);
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = fourBlocks(acc, 0, k, v, positions(100, 64), false);
        s.age(1000, n -> n, AGED, AGED);
        assertEquals(4, s.list().size());
        assertEquals(4 * (12 + 8) + 4 * 16 * 2L * AGED.bytesPerBlock(), acc.held());
    }

    @Test
    void aRunNeverJoinsADifferentCodecOrAYoungSegment() {
        float[] k = rows(64, 1), v = rows(64, 2);
        int[] pos = positions(100, 64);
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = new SegmentStore(DIM, acc, 256);
        s.add(pos, k, v, 0, 16, YOUNG, YOUNG, true, false);  // aged already, other codec (as pinned rows)
        s.add(pos, k, v, 16, 16, YOUNG, YOUNG, false, false);
        s.add(pos, k, v, 32, 16, YOUNG, YOUNG, false, false);
        s.age(132, n -> n, AGED, AGED); // only the block ending at 131 is old enough
        List<Segment> segs = s.list();
        assertEquals(3, segs.size(), "the e8:2 block does not join the e8:4 segment before it");
        assertFalse(segs.get(2).aged());
        s.age(1000, n -> n, AGED, AGED);
        assertEquals(2, s.list().size(), "the third block joins the second");
        assertEquals(32, s.list().get(1).rows());
        assertEquals(held(s), acc.held());
    }

    @Test
    void rowsKeptByAttentionJoinAndTheKeepCountSeesWhatTheirPositionsAdd() {
        float[] k = rows(64, 3), v = rows(64, 4);
        int[] pos = new int[64];
        for (int i = 0; i < 64; i++) pos[i] = 10 + 3 * i; // gaps: positions are not contiguous
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = fourBlocks(acc, 256, k, v, pos, true);
        // attention mass: in each block, rows 3, 7, 11, 15 received the most
        for (Segment g : s.list()) {
            float[] probs = new float[16];
            for (int r = 0; r < 16; r++) probs[r] = r % 4 == 3 ? 0.2f : 0.01f;
            g.mass().add(probs, 0, 16);
        }
        List<Long> bounds = new ArrayList<>();
        List<Long> runBytesBefore = new ArrayList<>();
        s.age(1000, (n, seg, positionBytes) -> {
            bounds.add(positionBytes.applyAsLong(4));
            runBytesBefore.add(s.list().get(0).aged() ? s.list().get(0).positions().bytes() : -1L);
            return 4;
        }, AGED, AGED, 0);
        List<Segment> segs = s.list();
        assertEquals(1, segs.size());
        Segment run = segs.get(0);
        assertEquals(16, run.rows());
        int[] p = new int[16];
        run.positions().decode(0, 16, p);
        for (int i = 0; i < 16; i++) assertEquals(pos[4 * i + 3], p[i], "row " + i);
        float[] got = new float[16 * DIM];
        run.keys().decode(0, 16, got, 0);
        for (int i = 0; i < 16; i++) {
            float[] want = agedFromYoung(k, 4 * i + 3, 1);
            assertArrayEquals(want, java.util.Arrays.copyOfRange(got, i * DIM, (i + 1) * DIM), "kept row " + i);
        }
        // the first block has no run before it: its own positions (4 rows over a 46-position span: 12 + 6 gap bytes)
        assertEquals(12 + 6, bounds.get(0));
        // the others: what the run's position set grows by, a bound of the real growth
        PositionSet after2 = new PositionSet(java.util.Arrays.copyOf(p, 8), 8);
        assertTrue(bounds.get(1) >= after2.bytes() - runBytesBefore.get(1), bounds + " " + runBytesBefore);
        assertTrue(bounds.get(1) < 12 + 6, "joining adds less than a new position set: " + bounds.get(1));
        assertEquals(held(s), acc.held());
    }

    @Test
    void withoutAttentionMassAgingRowsAreCutByTheRankingOfTheirValues() {
        float[] k = rows(64, 5), v = rows(64, 6);
        int[] pos = positions(200, 64);
        MemoryAccount acc = new MemoryAccount(0);
        SegmentStore s = fourBlocks(acc, 256, k, v, pos, false);
        List<float[]> seenReceived = new ArrayList<>();
        s.age(1000, (n, seg, positionBytes) -> 4, AGED, AGED, 0, (received, values, n) -> {
            seenReceived.add(received.clone());
            float[] norms = new float[n];
            for (int r = 0; r < n; r++) {
                double q = 0;
                for (int c = 0; c < DIM; c++) q += values[r * DIM + c] * (double) values[r * DIM + c];
                norms[r] = (float) Math.sqrt(q);
            }
            return norms;
        }, true);
        assertEquals(4, seenReceived.size());
        for (float[] r : seenReceived) for (float x : r) assertEquals(1f, x, "no attention recorded: all ones");
        assertEquals(1, s.list().size());
        Segment run = s.list().get(0);
        assertEquals(16, run.rows());
        int[] p = new int[16];
        run.positions().decode(0, 16, p);
        // in each block, the 4 rows whose young-coded values have the largest norms, in position order
        float[] young = new float[64 * DIM];
        for (int b = 0; b < 4; b++) CodedRows.encode(YOUNG, v, 16 * b * DIM, 16).decode(0, 16, young, 16 * b * DIM);
        for (int b = 0; b < 4; b++) {
            Integer[] order = new Integer[16];
            double[] norm = new double[16];
            for (int r = 0; r < 16; r++) {
                order[r] = r;
                for (int c = 0; c < DIM; c++) norm[r] += young[(16 * b + r) * DIM + c] * (double) young[(16 * b + r) * DIM + c];
            }
            java.util.Arrays.sort(order, (x, y) -> Double.compare(norm[y], norm[x]));
            int[] want = new int[4];
            for (int i = 0; i < 4; i++) want[i] = 200 + 16 * b + order[i];
            java.util.Arrays.sort(want);
            assertArrayEquals(want, java.util.Arrays.copyOfRange(p, 4 * b, 4 * b + 4), "block " + b);
        }
        assertEquals(held(s), acc.held());
        // without the switch, segments without mass age whole
        SegmentStore whole = fourBlocks(new MemoryAccount(0), 256, k, v, pos, false);
        whole.age(1000, (n, seg, positionBytes) -> 4, AGED, AGED, 0, (received, values, n) -> received, false);
        assertEquals(64, whole.rows());
    }

    @Test
    void aCacheThatAgesByValueNormsHoldsNoAttentionMassAndCountsEveryByte() {
        String spec = "k=e8:4,v=e8:3,window=0,age=32,evict=expected:0.5,agerank=vnorm,block=16,wprec=f16,rot=on,"
                + "center=kv,sinks=4,ak=e8:2,av=e8:1,ratio=8";
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse(spec).create(CompressedKvCacheTest.LAYOUT);
        CompressedKvCacheTest.Driver d = new CompressedKvCacheTest.Driver(CompressedKvCacheTest.LAYOUT, c, 21);
        d.step(200, false, false, 0, "");
        c.endOfPrompt();
        for (int i = 0; i < 160; i++) d.step(1, false, false, 0, "");
        int aged = 0;
        for (int l = 0; l < CompressedKvCacheTest.LAYOUT.layers(); l++) {
            for (int h = 0; h < CompressedKvCacheTest.LAYOUT.kvHeads(); h++) {
                for (Segment g : c.head(l, h).segments.list()) {
                    assertTrue(g.mass() == null, "no young segment records attention");
                    if (g.aged()) aged += g.rows();
                }
            }
        }
        assertTrue(aged > 0, "rows aged");
        assertEquals(c.recountBytes(), c.stats().bytes());
        double ratio = (double) c.stats().fp16Bytes() / c.stats().bytes();
        assertTrue(ratio > 8 * 0.97, "ratio " + ratio);
        // the same with attention-ranked aging holds an accumulator per young segment
        CompressedKvCache a = (CompressedKvCache) KvSpec.parse(spec.replace("agerank=vnorm", "agerank=attn")).create(CompressedKvCacheTest.LAYOUT);
        CompressedKvCacheTest.Driver da = new CompressedKvCacheTest.Driver(CompressedKvCacheTest.LAYOUT, a, 21);
        da.step(200, false, false, 0, "");
        a.endOfPrompt();
        for (int i = 0; i < 40; i++) da.step(1, false, false, 0, "");
        boolean tracked = false;
        for (Segment g : a.head(0, 0).segments.list()) tracked |= !g.aged() && g.mass() != null;
        assertTrue(tracked, "young segments track attention with agerank=attn");
    }
}
