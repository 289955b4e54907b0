package dev.nexusquant.kv;

import dev.nexusquant.codec.e8.E8MixedCodec;
import dev.nexusquant.engine.kv.KvLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The opt-in stage timing of compressed attention counts exactly the rows attention visits, and nothing when off. */
class AttendStagesTest {

    @AfterEach
    void off() {
        AttendStages.enable(false);
        AttendStages.reset();
    }

    /** Rows, chunks and rebuilt coefficients that one decode step over every (layer, head) of {@code c} visits. */
    private static long[] expected(CompressedKvCache c) {
        long rows = 0, chunks = 0, dims = 0;
        KvLayout l = c.layout();
        for (int layer = 0; layer < l.layers(); layer++) {
            for (int h = 0; h < l.kvHeads(); h++) {
                for (CompressedKvCache.SegmentView s : c.inspect(layer, h).segments()) {
                    int n = s.positions().length;
                    rows += n;
                    chunks += (n + CompressedAttention.CHUNK - 1) / CompressedAttention.CHUNK;
                    if (s.keyCodec() instanceof E8MixedCodec m) dims += (long) n * m.codedDims();
                }
            }
        }
        return new long[]{rows, chunks, dims};
    }

    /** One decode step: every layer appends a token at {@code pos} and its heads attend. */
    private static void step(CompressedKvCache c, int pos, long seed) {
        KvLayout l = c.layout();
        Random rnd = new Random(seed);
        for (int layer = 0; layer < l.layers(); layer++) {
            float[] k = new float[l.kvDim()], v = new float[l.kvDim()], q = new float[l.qDim()];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
            c.append(layer, 1, new int[]{pos}, k, v);
            for (int h = 0; h < l.kvHeads(); h++) c.attend(layer, h, 1, new int[]{pos}, q, new float[q.length]);
        }
    }

    @Test
    void kltKeysPreCountsTheRebuildAndEveryCompressedRow() {
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=e8:2,v=e8:2,rot=klt,keys=pre,center=kv,window=4,block=4")
                .create(KltCacheTest.LAYOUT);
        int n = 300;
        KltCacheTest.run(c, n, 5, false);
        long[] want = expected(c); // the step appends into the window first: the segments stay as they are
        assertTrue(want[0] > 0 && want[2] > 0, "the prompt left compressed rows with KLT codes");
        AttendStages.enable(true);
        AttendStages.reset();
        step(c, n, 9);
        AttendStages.Totals t = AttendStages.totals();
        assertEquals(want[0], t.rows());
        assertEquals(want[1], t.chunks());
        assertEquals(want[2], t.rebuiltDims());
        for (AttendStages.Stage s : AttendStages.Stage.values()) assertTrue(t.nanos()[s.ordinal()] >= 0, s.name());
        assertTrue(t.millis(AttendStages.Stage.KEY_REBUILD) > 0, "the rebuild was timed");
        assertTrue(t.millis(AttendStages.Stage.KEY_DECODE) > 0 && t.millis(AttendStages.Stage.SCORES) > 0);
        assertTrue(t.perStep(1).contains("coded coefficients per rebuilt row"), t.perStep(1));
    }

    @Test
    void hadamardKeysPostRebuildsNothingAndOffCountsNothing() {
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=e8:2,v=e8:2,rot=on,center=kv,window=4,block=4")
                .create(KltCacheTest.LAYOUT);
        int n = 300;
        KltCacheTest.run(c, n, 6, false);
        long[] want = expected(c);
        AttendStages.enable(true);
        AttendStages.reset();
        step(c, n, 10);
        AttendStages.Totals t = AttendStages.totals();
        assertEquals(want[0], t.rows());
        assertEquals(0, t.rebuiltDims());
        assertEquals(0, t.nanos()[AttendStages.Stage.KEY_REBUILD.ordinal()]);
        assertEquals(0, t.nanos()[AttendStages.Stage.KEY_ROPE.ordinal()], "keys=post: no per-row RoPE");

        AttendStages.enable(false);
        AttendStages.reset();
        step(c, n + 1, 11);
        t = AttendStages.totals();
        assertEquals(0, t.rows());
        assertEquals(0, t.chunks());
        for (long ns : t.nanos()) assertEquals(0, ns);
    }
}
