package dev.nexusquant.eval.analysis;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.kv.HeldRows;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The analysis caches keep and read what they say (oracle ranking, rows at full precision, every row kept). */
class LossAnalysisCachesTest {

    static final int DIM = 16;
    static final KvLayout LAYOUT = new KvLayout(2, 4, 2, DIM, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, DIM));

    /** Random masses (distinct sums) in every bin of queries in [from, positions). */
    static OracleMass randomMass(int positions, int from, long seed) {
        OracleMass m = new OracleMass(LAYOUT.layers(), LAYOUT.kvHeads(), positions, from);
        Random r = new Random(seed);
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                for (int p = 0; p < positions; p++) {
                    for (int q = from; q < positions; q += OracleMass.BIN) m.add(l, h, p, q, r.nextFloat() + 1e-3f);
                }
            }
        }
        return m;
    }

    /** Appends rows {@code [from, to)} one call per layer, random keys and values. */
    static void append(KvCache c, int from, int to, Random r) {
        int n = to - from, kvDim = LAYOUT.kvDim();
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = from + i;
        for (int l = 0; l < LAYOUT.layers(); l++) {
            float[] k = new float[n * kvDim], v = new float[n * kvDim];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            c.append(l, n, pos, k, v);
        }
    }

    /** The positions among {@code candidates} with the {@code m} largest masses, ascending. */
    static int[] topByMass(OracleMass mass, int l, int h, int[] candidates, int m, int after) {
        Integer[] idx = Arrays.stream(candidates).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, (a, b) -> Double.compare(mass.future(l, h, b, after), mass.future(l, h, a, after)));
        return Arrays.stream(idx, 0, m).mapToInt(Integer::intValue).sorted().toArray();
    }

    @Test
    void theOracleKeepsTheSinksAndTheRowsWithTheLargestMassAtThePromptsEnd() {
        OracleMass mass = randomMass(128, 64, 1);
        KvCompression base = KvSpec.parse("k=e8:4,v=e8:3,evict=expected:0.25,sinks=4,window=0,block=4");
        KvCache c = base.toBuilder().eviction(new OracleRanking(base.eviction(), mass)).build().create(LAYOUT);
        append(c, 0, 64, new Random(2));
        c.endOfPrompt();
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                int[] held = HeldRows.positions(c, l, h);
                assertEquals(16, held.length, "a quarter of 64 rows, sinks included");
                assertArrayEquals(new int[]{0, 1, 2, 3}, Arrays.copyOf(held, 4));
                int[] rest = new int[60];
                for (int i = 0; i < 60; i++) rest[i] = 4 + i;
                assertArrayEquals(topByMass(mass, l, h, rest, 12, 63), Arrays.copyOfRange(held, 4, 16), "L" + l + "H" + h);
            }
        }
    }

    @Test
    void agingRowsAreCutByTheMassStillToComeAfterTheNewestRow() {
        // masses from queries in two bins: rows aging at time t are ranked by the bins after t only
        int from = 32, positions = from + 2 * OracleMass.BIN;
        OracleMass mass = randomMass(positions, from, 3);
        KvCompression base = KvSpec.parse("k=e8:4,v=e8:3,evict=expected:0.5,agerank=vnorm,sinks=4,window=0,block=4,age=8,ak=e8:2,av=e8:1");
        KvCache c = base.toBuilder().eviction(new OracleRanking(base.eviction(), mass)).build().create(LAYOUT);
        Random r = new Random(4);
        append(c, 0, from, r);
        c.endOfPrompt();
        for (int p = from; p < positions; p++) append(c, p, p + 1, r);
        int cut = 0;
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                int[] held = HeldRows.positions(c, l, h);
                // generation's blocks of 4 (positions 32..35, ...) age once 8 newer rows are held: the newest row then
                // is the block's last + 9 (agedAt)
                for (int b0 = from; b0 + 4 + 9 < positions; b0 += 4) {
                    int b = b0;
                    int[] block = {b, b + 1, b + 2, b + 3};
                    int[] kept = Arrays.stream(held).filter(p -> p >= b && p < b + 4).toArray();
                    assertEquals(2, kept.length, "half of the block at " + b);
                    int newest = agedAt(b + 3);
                    assertArrayEquals(topByMass(mass, l, h, block, 2, newest), kept, "L" + l + "H" + h + " block " + b);
                    cut++;
                }
            }
        }
        assertTrue(cut > 20, "blocks checked: " + cut);
    }

    /** The newest position held when a block whose last row is {@code last} ages (age=8, block=4, window=0). */
    private static int agedAt(int last) {
        // appending row p (the window empty after its block was coded) ages rows below (p - 1) - 8: the block ages
        // when p = last + 10, the newest row held then being p - 1
        return last + 9;
    }

    @Test
    void rowsReadAtFullPrecisionGiveDenseAttentionOverTheHeldRows() {
        OracleMass mass = randomMass(128, 64, 5);
        KvCompression base = KvSpec.parse("k=e8:2,v=e8:1,evict=expected:0.25,sinks=4,window=0,block=4");
        KvCache wrapped = new HeldRowsAtFullPrecision(
                base.toBuilder().eviction(new OracleRanking(base.eviction(), mass)).build().create(LAYOUT));
        Random r = new Random(6);
        append(wrapped, 0, 64, r);
        wrapped.endOfPrompt();
        // the same rows, replayed, to know their values
        KvCache all = new DenseKvCache(LAYOUT, DenseKvCache.Precision.FP32);
        append(all, 0, 64, new Random(6));
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                int[] held = HeldRows.positions(((HeldRowsAtFullPrecision) wrapped).decider(), l, h);
                assertEquals(16, held.length);
                KvCache dense = denseOf(held, l, h, new Random(6));
                float[] q = new float[2 * LAYOUT.qDim()];
                Random qr = new Random(7 + l * 8 + h);
                for (int i = 0; i < q.length; i++) q[i] = (float) qr.nextGaussian();
                int[] qp = {64, 200};
                float[] want = new float[q.length], got = new float[q.length];
                dense.attend(0, h, 2, qp, q, want);
                wrapped.attend(l, h, 2, qp, q, got);
                for (int i = 0; i < q.length; i++) assertEquals(want[i], got[i], 1e-4, "L" + l + "H" + h + " at " + i);
            }
        }
    }

    /** A one-layer dense cache holding, for head {@code h}, only the rows {@code held} of layer {@code l} of the replay. */
    private static KvCache denseOf(int[] held, int l, int h, Random r) {
        int kvDim = LAYOUT.kvDim();
        float[][] k = new float[LAYOUT.layers()][64 * kvDim], v = new float[LAYOUT.layers()][64 * kvDim];
        for (int layer = 0; layer < LAYOUT.layers(); layer++) {
            for (int i = 0; i < k[layer].length; i++) {
                k[layer][i] = (float) r.nextGaussian();
                v[layer][i] = (float) r.nextGaussian();
            }
        }
        KvLayout one = new KvLayout(1, LAYOUT.heads(), LAYOUT.kvHeads(), DIM, LAYOUT.contextLength(), LAYOUT.rope());
        KvCache d = new DenseKvCache(one, DenseKvCache.Precision.FP32);
        float[] kk = new float[held.length * kvDim], vv = new float[held.length * kvDim];
        for (int i = 0; i < held.length; i++) {
            System.arraycopy(k[l], held[i] * kvDim, kk, i * kvDim, kvDim);
            System.arraycopy(v[l], held[i] * kvDim, vv, i * kvDim, kvDim);
        }
        d.append(0, held.length, held, kk, vv);
        return d;
    }

    @Test
    void withTheBasePlansTheAllocationIsTheBasePolicysAndTheKeptOldRowsTheOracles() {
        int prompt = 512;
        OracleMass mass = randomMass(prompt + 128, prompt, 9);
        KvCompression base = KvSpec.parse("k=e8:3,v=e8:2,window=0,age=16,block=4,evict=expected:0.5,obs=64,agerank=vnorm,"
                + "wprec=f16,rot=on,center=kv,sinks=4,ak=e8:2,av=e8:1,ratio=16");
        KvCache plain = base.create(LAYOUT);
        KvCache same = base.toBuilder().eviction(new OracleRanking(base.eviction(), mass, true, true, false)).build().create(LAYOUT);
        KvCache own = base.toBuilder().eviction(new OracleRanking(base.eviction(), mass)).build().create(LAYOUT);
        for (KvCache c : new KvCache[]{plain, same, own}) {
            append(c, 0, prompt, new Random(10));
            c.endOfPrompt();
        }
        assertEquals(plain.allocation(), same.allocation());
        int oldRows = prompt - 1 - 16; // rows older than the young zone are ranked at the prompt's end
        int[] rest = new int[oldRows - 4];
        for (int i = 0; i < rest.length; i++) rest[i] = 4 + i;
        int differ = 0, ranked = 0;
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                for (KvCache c : new KvCache[]{same, own}) {
                    int[] old = Arrays.stream(HeldRows.positions(c, l, h)).filter(p -> p < oldRows).toArray();
                    assertTrue(old.length >= 4, "the sinks are kept");
                    assertArrayEquals(new int[]{0, 1, 2, 3}, Arrays.copyOf(old, 4));
                    assertArrayEquals(topByMass(mass, l, h, rest, old.length - 4, prompt - 1), Arrays.copyOfRange(old, 4, old.length));
                    if (old.length > 4 && old.length < oldRows) ranked++;
                }
                if (!Arrays.equals(HeldRows.positions(plain, l, h), HeldRows.positions(same, l, h))) differ++;
            }
        }
        assertTrue(differ > 0, "the oracle keeps other rows than the base policy");
        assertTrue(ranked > 0, "some head kept part of its old rows");
    }

    @Test
    void keepingEveryRowDropsNothingAndMissesTheRatio() {
        KvCompression base = KvSpec.parse("k=e8:3,v=e8:2,window=0,age=64,block=4,evict=expected:0.5,obs=64,agerank=vnorm,"
                + "wprec=f16,rot=on,center=kv,sinks=4,ak=e8:2,av=e8:1,ratio=33");
        KvCache c = base.toBuilder().eviction(new KeepEveryRow(base.eviction())).build().create(LAYOUT);
        Random r = new Random(8);
        append(c, 0, 512, r);
        c.endOfPrompt();
        for (int p = 512; p < 640; p++) append(c, p, p + 1, r);
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) assertEquals(640, HeldRows.positions(c, l, h).length, "L" + l + "H" + h);
        }
        assertTrue(c.stats().ratio() < 16, "every row kept at >= 1 bit a value: " + c.stats().ratio());
        KvCache dropping = base.create(LAYOUT);
        append(dropping, 0, 512, new Random(8));
        dropping.endOfPrompt();
        assertTrue(HeldRows.positions(dropping, 0, 0).length < 512, "the same setting drops rows without the analysis");
    }

    @Test
    void futureMassCountsTheBinsAfterTheGivenPosition() {
        OracleMass m = new OracleMass(1, 1, 200, 100);
        m.add(0, 0, 5, 100, 1f);   // bin 0
        m.add(0, 0, 5, 131, 2f);   // bin 0
        m.add(0, 0, 5, 132, 4f);   // bin 1
        m.add(0, 0, 5, 199, 8f);   // bin 3
        assertEquals(15, m.total(0, 0, 5), 1e-6);
        assertEquals(15, m.future(0, 0, 5, 50), 1e-6);
        assertEquals(15, m.future(0, 0, 5, 130), 1e-6, "the bin holding 131 counts whole");
        assertEquals(12, m.future(0, 0, 5, 131), 1e-6);
        assertEquals(8, m.future(0, 0, 5, 170), 1e-6);
        assertEquals(0, m.future(0, 0, 5, 199), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> m.future(0, 1, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> m.future(0, 0, 200, 0));
        assertThrows(IllegalArgumentException.class, () -> new OracleMass(1, 1, 100, 100));
        assertThrows(IllegalArgumentException.class, () -> LossAnalysis.parse("nope"));
    }
}
