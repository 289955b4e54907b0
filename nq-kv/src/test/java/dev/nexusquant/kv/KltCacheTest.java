package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache with rot=klt: per-head bases fitted from the prompt, rates by variance, attention on the coded form. */
class KltCacheTest {

    static final KvLayout LAYOUT = new KvLayout(2, 4, 2, 32, 4096, new RopeSpec(RopeSpec.Style.HALVES, 10000, 1, 32));

    /** A prompt of n tokens whose keys and values lie near a 6-dimensional subspace per head, then attention checks. */
    static double[] run(CompressedKvCache c, int n, long seed, boolean check) {
        return run(c, n, seed, check, false);
    }

    /** The same, frozen before the prompt ends when {@code frozen} (the context protocol's order). */
    static double[] run(CompressedKvCache c, int n, long seed, boolean check, boolean frozen) {
        KvLayout l = c.layout();
        Random rnd = new Random(seed);
        int dim = l.headDim();
        float[][] dirs = new float[6][l.kvDim()];
        for (float[] d : dirs) for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian();
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = i;
        float[][] keys = new float[l.layers()][], values = new float[l.layers()][];
        for (int layer = 0; layer < l.layers(); layer++) {
            float[] k = new float[n * l.kvDim()], v = new float[n * l.kvDim()], q = new float[n * l.qDim()];
            for (int t = 0; t < n; t++) {
                for (int j = 0; j < dirs.length; j++) {
                    float a = (float) (rnd.nextGaussian() * 4 / (1 + j)), b = (float) (rnd.nextGaussian() * 3 / (1 + j));
                    for (int i = 0; i < l.kvDim(); i++) {
                        k[t * l.kvDim() + i] += a * dirs[j][i];
                        v[t * l.kvDim() + i] += b * dirs[(j + 3) % 6][i];
                    }
                }
                for (int i = 0; i < l.kvDim(); i++) {
                    k[t * l.kvDim() + i] += 1f + 0.05f * (float) rnd.nextGaussian();
                    v[t * l.kvDim() + i] += 0.05f * (float) rnd.nextGaussian();
                }
            }
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian() * 0.3f;
            c.append(layer, n, pos, k, v);
            c.attend(layer, 0, n, pos, q, new float[q.length]);
            c.attend(layer, 1, n, pos, q, new float[q.length]);
            keys[layer] = k;
            values[layer] = v;
        }
        if (frozen) c.freeze();
        c.endOfPrompt();
        // error of the coded rows against the appended ones (relative), and attention checks after the prompt
        double ek = 0, ev = 0, nk = 0, nv = 0;
        for (int layer = 0; layer < l.layers(); layer++) {
            for (int h = 0; h < l.kvHeads(); h++) {
                CompressedKvCache.Expanded e = c.expand(layer, h);
                for (int r = 0; r < e.rows(); r++) {
                    int p = e.positions()[r];
                    for (int i = 0; i < dim; i++) {
                        double dk = e.keys()[r * dim + i] - keys[layer][p * l.kvDim() + h * dim + i];
                        double dv = e.values()[r * dim + i] - values[layer][p * l.kvDim() + h * dim + i];
                        ek += dk * dk;
                        ev += dv * dv;
                        nk += Math.pow(keys[layer][p * l.kvDim() + h * dim + i], 2);
                        nv += Math.pow(values[layer][p * l.kvDim() + h * dim + i], 2);
                    }
                }
            }
        }
        if (check) {
            int[] p1 = {n};
            for (int layer = 0; layer < l.layers(); layer++) {
                float[] k = new float[l.kvDim()], v = new float[l.kvDim()], q = new float[l.qDim()];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                c.append(layer, 1, p1, k, v);
                float[] got = new float[q.length], want = new float[q.length];
                for (int h = 0; h < l.kvHeads(); h++) {
                    c.attend(layer, h, 1, p1, q, got);
                    CompressedKvCacheTest.expandedAttention(c, layer, h, 1, p1, q, want);
                }
                double num = 0, den = 0;
                for (int i = 0; i < got.length; i++) {
                    num += (got[i] - want[i]) * (double) (got[i] - want[i]);
                    den += want[i] * (double) want[i];
                }
                assertTrue(Math.sqrt(num / den) < 2e-5, "layer " + layer + ": " + Math.sqrt(num / den));
            }
            assertEquals(c.recountBytes(), c.stats().bytes());
        }
        return new double[]{ek / nk, ev / nv, c.stats().bytes()};
    }

    @Test
    void kltCodesLowRankRowsBetterThanHadamardWithinTheSameBytes() {
        for (String keys : new String[]{"post", "pre"}) {
            String common = "k=e8:2,v=e8:2,center=kv,window=8,block=8,wprec=f16,keys=" + keys;
            CompressedKvCache h = (CompressedKvCache) KvSpec.parse(common + ",rot=on").create(LAYOUT);
            CompressedKvCache k = (CompressedKvCache) KvSpec.parse(common + ",rot=klt").create(LAYOUT);
            double[] eh = run(h, 600, 7, true), ek = run(k, 600, 7, true);
            for (int layer = 0; layer < 2; layer++) {
                for (int hd = 0; hd < 2; hd++) {
                    RowTransform t = k.head(layer, hd).transform;
                    assertTrue(t.keyKlt() != null && t.keyKlt().rank() > 0, "key rank");
                    assertTrue(t.valueKlt() != null && t.valueKlt().rank() > 0, "value rank");
                }
            }
            assertTrue(ek[2] <= eh[2], keys + ": klt bytes " + ek[2] + " > hadamard " + eh[2]);
            if (keys.equals("pre")) continue; // these synthetic keys are low-rank as appended, not with RoPE undone
            assertTrue(ek[0] < 0.5 * eh[0], keys + ": key error klt " + ek[0] + " vs hadamard " + eh[0]);
            assertTrue(ek[1] < 0.5 * eh[1], keys + ": value error klt " + ek[1] + " vs hadamard " + eh[1]);
        }
    }

    @Test
    void constantRowsAndTinyPromptsAreHandled() {
        CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=e8:2,v=e8:2,rot=klt,center=kv,window=4,block=4").create(LAYOUT);
        int n = 50;
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = i;
        for (int layer = 0; layer < 2; layer++) {
            float[] k = new float[n * LAYOUT.kvDim()], v = new float[n * LAYOUT.kvDim()];
            java.util.Arrays.fill(k, 2.5f);
            java.util.Arrays.fill(v, -1f);
            c.append(layer, n, pos, k, v);
        }
        c.endOfPrompt();
        CompressedKvCache.Expanded e = c.expand(1, 1);
        for (float x : e.keys()) assertEquals(2.5f, x, 1e-6f);
        for (float x : e.values()) assertEquals(-1f, x, 1e-6f);
        // a prompt shorter than the window compresses nothing and fits nothing
        CompressedKvCache tiny = (CompressedKvCache) KvSpec.parse("k=e8:2,v=e8:2,rot=klt,window=16,block=4").create(LAYOUT);
        tiny.append(0, 3, new int[]{0, 1, 2}, new float[3 * LAYOUT.kvDim()], new float[3 * LAYOUT.kvDim()]);
        tiny.endOfPrompt();
        assertEquals(null, tiny.head(0, 0).transform.keyKlt());
    }

    @Test
    void specNamesTheTransform() {
        for (String rot : new String[]{"klt", "klt:k", "klt:v"}) {
            KvCompression c = KvSpec.parse("k=e8:2,v=e8:2,rot=" + rot);
            assertTrue(KvSpec.format(c).contains("rot=" + rot), KvSpec.format(c));
            assertEquals(c, KvSpec.parse(KvSpec.format(c)));
        }
        KvCompression both = KvSpec.parse("k=e8:2,rot=klt");
        assertTrue(both.kltKeys() && both.kltValues() && !both.rotate());
        KvCompression keysOnly = KvSpec.parse("k=e8:2,rot=klt:k");
        assertTrue(keysOnly.kltKeys() && !keysOnly.kltValues() && keysOnly.rotate());
        assertEquals(KvSpec.parse("k=e8:2,rot=on"), KvSpec.parse("k=e8:2,rot=klt,rot=on"));
        var e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("rot=pca"));
        assertTrue(e.getMessage().contains("klt"), e.getMessage());
    }
}
