package dev.nexusquant.kv;

import dev.nexusquant.codec.state.StateInput;
import dev.nexusquant.codec.state.StateOutput;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code basis=auto} in a cache built from a bare layout (no model to find the model's KLT bases for): the cache runs
 * the Hadamard rotation instead, exactly as the same settings with {@code rot=on} would, keeps {@code basis=auto} in
 * its settings, says so in its stats, and a saved state restores the same way.
 */
class BasisFallbackTest {

    static final KvLayout LAYOUT = KltCacheTest.LAYOUT;

    /** The attention outputs of a 600-token prompt's end and of 40 decode steps after it, every layer and KV head. */
    static List<float[]> drive(KvCache c, long seed, int from, int steps) {
        KvLayout l = c.layout();
        Random rnd = new Random(seed);
        List<float[]> outs = new ArrayList<>();
        if (from == 0) {
            int n = 600;
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = i;
            for (int layer = 0; layer < l.layers(); layer++) {
                float[] k = gaussian(rnd, n * l.kvDim()), v = gaussian(rnd, n * l.kvDim()), q = gaussian(rnd, n * l.qDim());
                c.append(layer, n, pos, k, v);
                for (int h = 0; h < l.kvHeads(); h++) c.attend(layer, h, n, pos, q, new float[q.length]);
            }
            c.endOfPrompt();
            from = n;
        }
        for (int t = from; t < from + steps; t++) {
            int[] p = {t};
            for (int layer = 0; layer < l.layers(); layer++) {
                float[] k = gaussian(rnd, l.kvDim()), v = gaussian(rnd, l.kvDim()), q = gaussian(rnd, l.qDim());
                c.append(layer, 1, p, k, v);
                float[] out = new float[q.length];
                for (int h = 0; h < l.kvHeads(); h++) c.attend(layer, h, 1, p, q, out);
                outs.add(out);
            }
        }
        return outs;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian() + (i % 7 == 0 ? 2f : 0f);
        return x;
    }

    @Test
    void bareLayoutMaxWithAutoBasisRunsTheHadamardRotationAndSaysSo() {
        // KLT keys and values (pre-RoPE keys), and KLT values only: each against the same settings with rot=on
        String[][] pairs = {{"max,keys=pre,rot=klt,basis=auto", "max,keys=pre"}, {"max,rot=klt:v,basis=auto", "max"}};
        for (String[] pair : pairs) {
            KvCompression auto = KvSpec.parse(pair[0]);
            CompressedKvCache c = (CompressedKvCache) auto.create(LAYOUT);
            KvCache h = KvSpec.parse(pair[1]).create(LAYOUT);
            assertTrue(c.basisFallback(), pair[0]);
            assertEquals(KvSpec.format(auto), c.settings(), "the settings keep basis=auto");
            assertTrue(c.settings().contains("basis=auto"), c.settings());
            assertFalse(c.config().kltKeys() || c.config().kltValues(), "no KLT without bases: " + c.config());
            List<float[]> a = drive(c, 7, 0, 40), b = drive(h, 7, 0, 40);
            for (int i = 0; i < a.size(); i++) assertArrayEquals(b.get(i), a.get(i), pair[0] + " step " + i);
            assertEquals(h.stats().bytes(), c.stats().bytes(), pair[0]);
            assertEquals(BasisFallback.NOTE, c.stats().note(), pair[0]);
            assertTrue(c.stats().toString().contains("note=" + BasisFallback.NOTE), c.stats().toString());
            assertEquals("", h.stats().note(), "a cache that does what its settings say notes nothing");
            c.close();
            assertEquals(BasisFallback.NOTE, c.stats().note(), "the closed cache's last stats keep the note");
        }
        // settings that name no basis, or a prompt's own bases, are not touched
        assertFalse(BasisFallback.applies(KvSpec.parse("max,keys=pre,rot=klt")));
        assertFalse(BasisFallback.applies(KvSpec.parse("max")));
    }

    @Test
    void aFallbackStateRestoresCodingTheSameWay() throws Exception {
        KvCompression auto = KvSpec.parse("max,keys=pre,rot=klt,basis=auto");
        CompressedKvCache c = (CompressedKvCache) auto.create(LAYOUT);
        drive(c, 11, 0, 24);
        StateOutput out = new StateOutput();
        c.writeState(out);
        byte[] saved = out.toByteArray();
        List<float[]> expected = drive(c, 12, 624, 40); // across more aging and a new block or two
        CompressedKvCache r = CacheState.read(LAYOUT, c.settings(), new StateInput(saved, Long.MAX_VALUE));
        assertTrue(r.basisFallback());
        assertEquals(BasisFallback.NOTE, r.stats().note());
        assertEquals(c.settings(), r.settings());
        List<float[]> got = drive(r, 12, 624, 40);
        for (int i = 0; i < got.size(); i++) assertArrayEquals(expected.get(i), got.get(i), "step " + i);
        assertEquals(c.stats(), r.stats());
    }
}
