package dev.nexusquant.engine.kv;

import dev.nexusquant.engine.tensor.Kernels;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DenseKvCacheTest {

    static final KvLayout LAYOUT = new KvLayout(2, 8, 2, 16, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 16));

    @Test
    void growsInChunksAndCountsItsBytes() {
        for (DenseKvCache.Precision p : DenseKvCache.Precision.values()) {
            DenseKvCache c = new DenseKvCache(LAYOUT, p);
            assertEquals(0, c.stats().bytes());
            int elem = p == DenseKvCache.Precision.FP32 ? 4 : 2;
            long perChunk = LAYOUT.layers() * (2L * LAYOUT.kvHeads() * DenseKvCache.CHUNK_TOKENS * LAYOUT.headDim() * elem
                    + 4L * DenseKvCache.CHUNK_TOKENS);
            Random r = new Random(1);
            int t = 0;
            for (int step : new int[]{1, 10, 245, 1, 300}) {
                for (int l = 0; l < 2; l++) c.append(l, step, positions(t, step), rnd(r, step * 32), rnd(r, step * 32));
                t += step;
                long chunks = (t + DenseKvCache.CHUNK_TOKENS - 1) / DenseKvCache.CHUNK_TOKENS;
                KvStats s = c.stats();
                assertEquals(chunks * perChunk, s.bytes(), p + " after " + t + " tokens");
                assertEquals(t, s.tokensSeen());
                assertEquals((long) t * LAYOUT.fp16BytesPerToken(), s.fp16Bytes());
            }
            c.close();
            assertEquals(0, c.stats().bytes());
        }
    }

    @Test
    void attentionMatchesNaiveSoftmax() {
        Random r = new Random(2);
        int n = 300;
        for (DenseKvCache.Precision p : DenseKvCache.Precision.values()) {
            for (Kernels k : new Kernels[]{Kernels.scalar(), Kernels.vector()}) {
                DenseKvCache c = new DenseKvCache(LAYOUT, p, k);
                float[] keys = rnd(r, n * 32), vals = rnd(r, n * 32);
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = 3 * i; // gaps: evicting caches keep original positions
                c.append(0, n, pos, keys, vals);
                float[] q = rnd(r, 2 * 128);
                int[] qpos = {3 * 100, 3 * 299 + 1};
                float[] out = new float[2 * 128];
                c.attend(0, 1, 2, qpos, q, out);
                float[] kk = new float[16], vv = new float[16];
                for (int i = 0; i < 2; i++) {
                    int limit = i == 0 ? 101 : 300;
                    for (int g = 0; g < 4; g++) {
                        int h = 4 + g, off = i * 128 + h * 16;
                        double[] s = new double[limit];
                        double max = -1e30, sum = 0;
                        for (int t = 0; t < limit; t++) {
                            c.readKey(0, 1, t, kk, 0);
                            for (int d = 0; d < 16; d++) s[t] += q[off + d] * kk[d];
                            s[t] /= 4;
                            max = Math.max(max, s[t]);
                        }
                        for (int t = 0; t < limit; t++) sum += s[t] = Math.exp(s[t] - max);
                        for (int d = 0; d < 16; d++) {
                            double o = 0;
                            for (int t = 0; t < limit; t++) {
                                c.readValue(0, 1, t, vv, 0);
                                o += s[t] / sum * vv[d];
                            }
                            assertEquals(o, out[off + d], 1e-5, p + " " + k.name());
                        }
                    }
                    for (int h = 0; h < 4; h++) assertEquals(0f, out[i * 128 + h * 16], "other heads untouched");
                }
            }
        }
    }

    /**
     * The rows of one call are grouped by head (decode, and GQA groups no smaller than the batch) or by token (prefill);
     * every grouping sums in the same order, so a batch of queries gets the very bits each query gets alone, whatever
     * the group size (1, 2, 3, 4 query heads per KV head), the batch (1-6 tokens) and the kernels.
     */
    @Test
    void aBatchOfQueriesEqualsOneQueryAtATime() {
        Random r = new Random(3);
        for (int group : new int[]{1, 2, 3, 4}) {
            KvLayout layout = new KvLayout(1, 2 * group, 2, 32, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 32));
            int qDim = layout.qDim(), kvDim = layout.kvDim();
            for (Kernels k : new Kernels[]{Kernels.scalar(), Kernels.vector()}) {
                for (int n = 1; n <= 6; n++) {
                    DenseKvCache batch = new DenseKvCache(layout, DenseKvCache.Precision.FP32, k);
                    DenseKvCache single = new DenseKvCache(layout, DenseKvCache.Precision.FP32, k);
                    int before = 1 + r.nextInt(300);
                    float[] keys = rnd(r, before * kvDim), vals = rnd(r, before * kvDim);
                    batch.append(0, before, positions(0, before), keys, vals);
                    single.append(0, before, positions(0, before), keys, vals);
                    float[] nk = rnd(r, n * kvDim), nv = rnd(r, n * kvDim), q = rnd(r, n * qDim);
                    int[] pos = positions(before, n);
                    batch.append(0, n, pos, nk, nv);
                    float[] got = new float[n * qDim], want = new float[n * qDim];
                    for (int h = 0; h < 2; h++) batch.attend(0, h, n, pos, q, got);
                    for (int i = 0; i < n; i++) { // the same tokens appended and attended one at a time
                        single.append(0, 1, new int[]{before + i}, java.util.Arrays.copyOfRange(nk, i * kvDim, (i + 1) * kvDim),
                                java.util.Arrays.copyOfRange(nv, i * kvDim, (i + 1) * kvDim));
                        float[] qi = java.util.Arrays.copyOfRange(q, i * qDim, (i + 1) * qDim), oi = new float[qDim];
                        for (int h = 0; h < 2; h++) single.attend(0, h, 1, new int[]{before + i}, qi, oi);
                        System.arraycopy(oi, 0, want, i * qDim, qDim);
                    }
                    org.junit.jupiter.api.Assertions.assertArrayEquals(want, got,
                            "group " + group + ", " + n + " tokens after " + before + ", " + k.name());
                }
            }
        }
    }

    @Test
    void rejectsPositionsThatDoNotIncrease() {
        DenseKvCache c = new DenseKvCache(LAYOUT, DenseKvCache.Precision.FP32);
        c.append(0, 2, new int[]{0, 1}, new float[64], new float[64]);
        assertThrows(IllegalArgumentException.class, () -> c.append(0, 1, new int[]{1}, new float[32], new float[32]));
        assertThrows(IllegalArgumentException.class, () -> c.append(1, 2, new int[]{5, 5}, new float[64], new float[64]));
    }

    static int[] positions(int from, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = from + i;
        return p;
    }

    static float[] rnd(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
