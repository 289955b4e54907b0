package dev.nexusquant.server.memory;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.kv.KvSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bound the server reserves before a turn holds for real caches: random conversations of random turns (prompt
 * batches as the session sends them, end of prompt, token-by-token decoding, attention between appends), the cache's
 * bytes checked after every call. Seeded; replay with -Dnq.test.seed.
 */
class CacheSizerTest {

    static final KvLayout LAYOUT = new KvLayout(3, 4, 2, 64, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 64));

    @Test
    void denseBoundIsExact() {
        for (KvCacheFactory f : List.of(DenseKvCache.FP32, DenseKvCache.FP16)) {
            CacheSizer s = new CacheSizer(f, LAYOUT);
            assertTrue(s.exact());
            try (KvCache c = f.create(LAYOUT)) {
                SplittableRandom r = new SplittableRandom(1);
                int t = 0;
                for (int step = 0; step < 20; step++) {
                    int n = 1 + r.nextInt(200);
                    append(c, t, n, r);
                    t += n;
                    assertEquals(s.denseBytes(t), c.stats().bytes(), f.describe() + " at " + t + " tokens");
                }
            }
        }
    }

    @Test
    void boundHoldsForCompressedCachesOnRandomTurns() {
        long seed = Long.getLong("nq.test.seed", System.nanoTime());
        System.out.println("CacheSizerTest seed " + seed + " (replay with -Dnq.test.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        List<KvCacheFactory> factories = List.of(KvCompression.balanced(), KvCompression.high(), KvCompression.max(),
                KvSpec.parse("k=fp16,v=fp16,wprec=f16"), KvSpec.parse("k=e8:2,v=e8:2,evict=h2o:0.5,window=8,block=8"),
                KvSpec.parse("k=q4_0,v=kivi2,pin=4,boost=1,staging=64,window=8,block=8"),
                KvSpec.parse("balanced,staging=128"), KvSpec.parse("k=e8:1,v=e8:1,L0=fp16/fp16,age=32,ak=e8:1,av=e8:1,evict=snapkv:0.3"),
                KvCompression.builder().build());
        for (KvCacheFactory f : factories) {
            CacheSizer s = new CacheSizer(f, LAYOUT);
            for (int conv = 0; conv < 2; conv++) {
                try (KvCache c = f.create(LAYOUT)) {
                    int t = 0;
                    int turns = 1 + r.nextInt(3);
                    for (int turn = 0; turn < turns; turn++) {
                        int prompt = 1 + r.nextInt(turn == 0 ? 600 : 100);
                        int gen = r.nextInt(40);
                        long bound = s.peakBytes(c.stats().bytes(), t, t + prompt + gen);
                        for (int done = 0; done < prompt; ) {
                            int b = Math.min(Math.min(256, Math.max(1, c.maxAppend())), prompt - done);
                            append(c, t, b, r);
                            attend(c, t, b, r);
                            t += b;
                            done += b;
                            check(c, bound, f, t);
                        }
                        c.endOfPrompt();
                        check(c, bound, f, t);
                        for (int g = 0; g < gen; g++) {
                            append(c, t, 1, r);
                            attend(c, t, 1, r);
                            t++;
                            check(c, bound, f, t);
                        }
                    }
                }
            }
        }
    }

    private static void check(KvCache c, long bound, KvCacheFactory f, int t) {
        long b = c.stats().bytes();
        assertTrue(b <= bound, f.describe() + ": " + b + " bytes at " + t + " tokens, bound " + bound);
    }

    /** Appends n random tokens at positions t.. to every layer. */
    static void append(KvCache c, int t, int n, SplittableRandom r) {
        int kvDim = LAYOUT.kvDim();
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = t + i;
        float[] k = new float[n * kvDim], v = new float[n * kvDim];
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            c.append(l, n, pos, k, v);
        }
    }

    static void attend(KvCache c, int t, int n, SplittableRandom r) {
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = t + i;
        float[] q = new float[n * LAYOUT.qDim()], out = new float[n * LAYOUT.qDim()];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) c.attend(l, h, n, pos, q, out);
        }
    }
}
