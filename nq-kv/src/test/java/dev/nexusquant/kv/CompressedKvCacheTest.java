package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.kv.eviction.EvictionPolicy;
import dev.nexusquant.kv.eviction.SnapKvEviction;
import dev.nexusquant.kv.eviction.StreamingEviction;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompressedKvCacheTest {

    static final KvLayout LAYOUT = new KvLayout(2, 4, 2, 16, 4096,
            new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 16));

    /** Drives a cache and the naive reference through a prompt and a generation, comparing every attention output. */
    static final class Driver {
        final KvLayout layout;
        final KvCache cache;
        final NaiveAttention ref;
        final Random rnd;
        int next;
        double worst;

        Driver(KvLayout layout, KvCache cache, long seed) {
            this.layout = layout;
            this.cache = cache;
            this.ref = new NaiveAttention(layout);
            this.rnd = new Random(seed);
        }

        /** One forward step of n tokens; returns the worst relative error of this step when {@code check}. */
        void step(int n, boolean check, boolean restrictToKept, double tol, String what) {
            int[] positions = new int[n];
            for (int i = 0; i < n; i++) positions[i] = next++;
            for (int l = 0; l < layout.layers(); l++) {
                float[] k = gaussian(n * layout.kvDim(), 1.0, 0.7f);
                float[] v = gaussian(n * layout.kvDim(), 1.0, 0f);
                float[] q = gaussian(n * layout.qDim(), 1.5, 0f);
                cache.append(l, n, positions, k, v);
                ref.append(l, n, positions, k, v);
                if (!check) {
                    float[] out = new float[n * layout.qDim()];
                    for (int h = 0; h < layout.kvHeads(); h++) cache.attend(l, h, n, positions, q, out);
                    continue;
                }
                float[] out = new float[n * layout.qDim()];
                float[] want = new float[n * layout.qDim()];
                for (int h = 0; h < layout.kvHeads(); h++) {
                    cache.attend(l, h, n, positions, q, out);
                    Set<Integer> kept = restrictToKept ? keptPositions((CompressedKvCache) cache, l, h) : null;
                    ref.attend(l, h, n, positions, q, want, kept);
                }
                double num = 0, den = 0;
                for (int i = 0; i < out.length; i++) {
                    num += (out[i] - want[i]) * (double) (out[i] - want[i]);
                    den += want[i] * (double) want[i];
                }
                double rel = Math.sqrt(num / den);
                worst = Math.max(worst, rel);
                assertTrue(rel < tol, what + ": relative error " + rel + " at layer " + l + ", position " + positions[0]);
            }
        }

        float[] gaussian(int n, double sd, float bias) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * sd) + (i % 7 == 0 ? bias * 4 : bias);
            return x;
        }
    }

    static Set<Integer> keptPositions(CompressedKvCache c, int layer, int kvHead) {
        Set<Integer> s = new HashSet<>();
        for (int p : c.inspect(layer, kvHead).positions()) s.add(p);
        return s;
    }

    /** Dense attention in double over the rows a head holds, decoded: the reference for lossy caches. */
    static void expandedAttention(CompressedKvCache c, int layer, int kvHead, int n, int[] positions, float[] q,
                                  float[] out) {
        KvLayout l = c.layout();
        int d = l.headDim(), group = l.groupSize();
        CompressedKvCache.Expanded e = c.expand(layer, kvHead);
        for (int i = 0; i < n; i++) {
            for (int g = 0; g < group; g++) {
                int qo = i * l.qDim() + (kvHead * group + g) * d;
                double[] s = new double[e.rows()];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < e.rows(); t++) {
                    if (e.positions()[t] > positions[i]) {
                        s[t] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += (double) q[qo + j] * e.keys()[t * d + j];
                    s[t] = dot / Math.sqrt(d);
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                double[] acc = new double[d];
                for (int t = 0; t < e.rows(); t++) {
                    if (s[t] == Double.NEGATIVE_INFINITY) continue;
                    double w = Math.exp(s[t] - max);
                    sum += w;
                    for (int j = 0; j < d; j++) acc[j] += w * e.values()[t * d + j];
                }
                for (int j = 0; j < d; j++) out[qo + j] = (float) (acc[j] / sum);
            }
        }
    }

    @Test
    void compressedAttentionEqualsDenseAttentionOverTheExpandedCache() {
        String[] specs = {
                "k=e8:2,v=e8:2,rot=on,center=kv,evict=snapkv:0.5,window=8,block=8,wprec=f16",
                "k=e8:3,v=e8:1,rot=on,center=k,keys=pre,evict=h2o:0.6,window=6,block=4,wprec=f16",
                "k=e8:2,v=e8:2,rot=on,center=kv,kbal=on,evict=snapkv:0.7,window=8,block=8,wprec=f16",
                "k=e8:2,v=e8:2,rot=on,center=kv,kbal=on,keys=pre,window=8,block=8,wprec=f16,obs=8",
                "k=e8:4/16,v=e8:2,rot=off,center=none,window=4,block=4",
                "k=e8:4,v=e8:3,age=12,ak=e8:2,av=e8:1,rot=on,center=kv,pin=2,evict=snapkv:0.6,window=6,block=4,wprec=f16",
                "k=e8:3,v=e8:2,age=10,ak=e8:1,av=e8:1,rot=on,center=kv,keys=pre,evict=h2o:0.5,window=4,block=4,wprec=f16",
                "k=e8:1,v=e8:1,rot=on,center=kv,pin=3,evict=snapkv:0.3,sinks=2,window=8,block=8,wprec=f16",
                "k=q4_0,v=kivi2,rot=on,window=8,block=8,wprec=f16",
                "k=tq2.5,v=fp8,rot=on,evict=streaming,sinks=3,window=8,block=4",
                "k=e8:4,v=e8:3,evict=snapkv:0.5,window=8,block=4,wprec=f16,rot=on,center=kv,ratio=6",
                "k=e8:4,v=e8:3,age=12,ak=e8:2,av=e8:1,evict=snapkv:0.5,window=4,block=4,wprec=f16,rot=on,center=kv,keys=pre,ratio=5",
                "k=e8:4,v=e8:4,rot=klt,center=kv,evict=snapkv:0.8,window=8,block=8,wprec=f16",
                "k=e8:4,v=e8:3,rot=klt,center=kv,keys=pre,kbal=on,evict=h2o:0.9,window=6,block=4,wprec=f16",
                "k=e8:2,v=e8:4,age=12,ak=e8:1,av=e8:3,rot=klt:v,center=kv,pin=2,evict=snapkv:0.8,window=6,block=4,wprec=f16",
                "k=e8:4,v=e8:2,rot=klt:k,center=none,window=8,block=8",
        };
        KvLayout layout = new KvLayout(2, 8, 2, 32, 4096, new RopeSpec(RopeSpec.Style.HALVES, 10000, 1, 32));
        for (String spec : specs) {
            CompressedKvCache c = (CompressedKvCache) KvSpec.parse(spec).create(layout);
            Random rnd = new Random(spec.hashCode());
            int next = 0;
            for (int step = 0; step < 30; step++) {
                int n = step == 0 ? 40 : 1 + rnd.nextInt(3);
                if (step == 1) c.endOfPrompt();
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = next++;
                for (int l = 0; l < layout.layers(); l++) {
                    float[] k = new float[n * layout.kvDim()], v = new float[n * layout.kvDim()], q = new float[n * layout.qDim()];
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) rnd.nextGaussian() + (i % 5 == 0 ? 3f : 0f);
                        v[i] = (float) rnd.nextGaussian();
                    }
                    for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                    c.append(l, n, pos, k, v);
                    float[] got = new float[q.length], want = new float[q.length];
                    for (int h = 0; h < layout.kvHeads(); h++) {
                        c.attend(l, h, n, pos, q, got);
                        expandedAttention(c, l, h, n, pos, q, want);
                    }
                    double num = 0, den = 0;
                    for (int i = 0; i < got.length; i++) {
                        num += (got[i] - want[i]) * (double) (got[i] - want[i]);
                        den += want[i] * (double) want[i];
                    }
                    assertTrue(Math.sqrt(num / den) < 2e-5, spec + ": step " + step + " layer " + l + " rel " + Math.sqrt(num / den));
                }
            }
            assertEquals(c.recountBytes(), c.stats().bytes(), spec);
        }
    }

    @Test
    void rowsAreRecodedWithTheAgedCodecsOnceOldEnough() {
        KvCompression cfg = KvSpec.parse("k=e8:4,v=e8:4,age=40,ak=e8:1,av=e8:1,rot=on,window=8,block=8,wprec=f16");
        CompressedKvCache c = (CompressedKvCache) cfg.create(LAYOUT);
        Driver d = new Driver(LAYOUT, c, 31);
        d.step(64, false, false, 0, "");
        c.endOfPrompt();
        // the prompt's rows older than 40 positions went straight to the aged codecs, the rest in blocks of 8
        for (CompressedKvCache.SegmentView seg : c.inspect(0, 0).segments()) {
            int last = seg.positions()[seg.positions().length - 1];
            boolean old = last < 63 - 40;
            assertEquals(old, seg.aged(), "segment ending at " + last);
            // one fp16 scale + 16 code bits per 8 values at 1 bit (e8:1 is 8 bits per 8 values), 32 at 4 bits
            assertEquals(old ? 2 + 16 / 8 * 1 : 2 + 16 / 8 * 4, seg.keyCodec().bytesPerBlock(), "codec of a segment");
        }
        long before = c.stats().bytes();
        for (int i = 0; i < 60; i++) d.step(1, false, false, 0, "");
        long agedRows = 0, youngRows = 0;
        for (CompressedKvCache.SegmentView seg : c.inspect(1, 1).segments()) {
            if (seg.aged()) agedRows += seg.positions().length;
            else youngRows += seg.positions().length;
            int last = seg.positions()[seg.positions().length - 1];
            if (!seg.aged()) assertTrue(last >= 123 - 40 - 8, "young segments are recent");
        }
        assertTrue(agedRows > 64 && youngRows > 0, agedRows + " aged, " + youngRows + " young rows");
        assertEquals(c.recountBytes(), c.stats().bytes());
        assertTrue(c.stats().bytes() < before * 2, "aging keeps the cache small");
    }

    @Test
    void withAgingRowsAreDroppedOnlyWhenTheyAge() {
        KvCompression cfg = KvSpec.parse("k=e8:4,v=e8:4,age=48,ak=e8:2,av=e8:2,evict=snapkv:0.25,sinks=2,rot=on,window=8,block=8,wprec=f16");
        CompressedKvCache c = (CompressedKvCache) cfg.create(LAYOUT);
        Driver d = new Driver(LAYOUT, c, 33);
        d.step(100, false, false, 0, "");
        c.endOfPrompt();
        // positions < 99 - 48 = 51: ranked now, a quarter kept (plus sinks); 51 .. 91 kept, young; 92 .. 99 window
        Set<Integer> kept = keptPositions(c, 0, 0);
        for (int p = 51; p < 100; p++) assertTrue(kept.contains(p), "young position " + p + " kept");
        long old = kept.stream().filter(p -> p < 51).count();
        assertEquals(Math.round(0.25 * 51), old, "old positions kept");
        for (int i = 0; i < 80; i++) d.step(1, false, false, 0, "");
        // now everything older than 179 - 48 has aged: about a quarter of it is left
        Set<Integer> later = keptPositions(c, 1, 1);
        long young = later.stream().filter(p -> p >= 179 - 48 - 8).count();
        long older = later.stream().filter(p -> p < 179 - 48 - 8).count();
        assertTrue(young >= 40, "young rows all kept: " + young);
        assertTrue(older < 0.35 * (179 - 48 - 8), "old rows evicted to about a quarter: " + older);
        assertEquals(c.recountBytes(), c.stats().bytes());
    }

    @Test
    void theLayerWhoseAttentionQuantizationDisturbsMostIsBoosted() {
        KvLayout layout = new KvLayout(4, 4, 2, 32, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 32));
        for (int sharp = 0; sharp < 4; sharp++) {
            CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=e8:1,v=e8:1,boost=1,rot=on,window=8,block=8").create(layout);
            Random rnd = new Random(40 + sharp);
            int n = 80;
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = i;
            for (int l = 0; l < layout.layers(); l++) {
                // layer `sharp` has large keys and queries: peaked attention that coarse keys disturb; others are flat
                float scale = l == sharp ? 4f : 0.2f;
                float[] k = new float[n * layout.kvDim()], v = new float[n * layout.kvDim()], q = new float[n * layout.qDim()];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian() * scale;
                    v[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian() * scale;
                c.append(l, n, pos, k, v);
                float[] out = new float[q.length];
                for (int h = 0; h < layout.kvHeads(); h++) c.attend(l, h, n, pos, q, out);
            }
            c.endOfPrompt();
            assertArrayEquals(new int[]{sharp}, c.boostedLayers(), "sharp layer " + sharp);
            // the boosted layer's rows are coded at 1 + 2 = 3 bits: 2 bytes of scale + 32 * 3 / 8 bytes
            assertEquals(2 + 12, c.inspect(sharp, 0).segments().get(0).keyCodec().bytesPerBlock());
            assertEquals(2 + 4, c.inspect((sharp + 1) % 4, 0).segments().get(0).keyCodec().bytesPerBlock());
        }
    }

    @Test
    void losslessSettingsMatchDenseAttention() {
        KvCompression cfg = KvCompression.builder().window(8).block(4).stagingLimit(40).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 11);
        int[] batches = {5, 1, 17, 3, 9}; // 35 prompt tokens
        for (int b : batches) d.step(b, true, false, 1e-5, "prompt");
        d.cache.endOfPrompt();
        for (int i = 0; i < 30; i++) d.step(1 + (i % 4), true, false, 1e-5, "decode");
        // 40 staging limit crossed on the prompt? no: 35 < 40; now a second long turn crosses nothing either
        assertEquals(d.next, d.cache.tokensSeen());
        assertTrue(((CompressedKvCache) d.cache).inspect(0, 0).segments().size() > 3, "blocks were compressed");
    }

    @Test
    void rotationCentringAndPreRopeKeysAreExactTransforms() {
        for (KvCompression.KeyDomain domain : KvCompression.KeyDomain.values()) {
            KvCompression cfg = KvCompression.builder().window(5).block(3).rotate(true).seed(99)
                    .center(true, true).keyDomain(domain).build();
            Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 21);
            d.step(23, true, false, 1e-5, domain + " prompt");
            d.cache.endOfPrompt();
            for (int i = 0; i < 20; i++) d.step(1 + i % 2, true, false, 2e-5, domain + " decode");
        }
    }

    @Test
    void fp16StorageMatchesHalfRoundedReference() {
        KvCompression cfg = KvCompression.builder().codecs("fp16", "fp16")
                .windowPrecision(KvCompression.Precision.F16).window(6).block(5).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 12);
        d.ref.roundToHalf();
        for (int i = 0; i < 4; i++) d.step(7, true, false, 1e-5, "fp16 prompt");
        d.cache.endOfPrompt();
        for (int i = 0; i < 25; i++) d.step(1 + i % 3, true, false, 1e-5, "fp16");
    }

    @Test
    void longPromptIsCompressedAsItComesWithoutLoss() {
        KvCompression cfg = KvCompression.builder().window(8).block(8).stagingLimit(32).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 13);
        for (int i = 0; i < 10; i++) d.step(12, true, false, 1e-5, "long prompt");
        CompressedKvCache c = (CompressedKvCache) d.cache;
        assertTrue(c.inspect(1, 1).windowPositions().length <= 32 + 12, "staging stayed bounded");
        assertTrue(!c.inspect(1, 1).segments().isEmpty());
    }

    @Test
    void snapKvKeepsTheRequestedShareAndAttendsExactlyOverWhatItKept() {
        KvCompression cfg = KvCompression.builder().window(8).block(8)
                .eviction(new SnapKvEviction(0.25, 2, 8, 3)).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 14);
        d.step(48, false, false, 0, "");
        d.step(40, false, false, 0, "");
        d.cache.endOfPrompt();
        CompressedKvCache c = (CompressedKvCache) d.cache;
        // 88 staged tokens, 8 stay in the window, 80 candidates of which round(0.25 * 80) = 20 are kept
        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                Set<Integer> kept = keptPositions(c, l, h);
                assertEquals(28, kept.size(), "layer " + l + " head " + h);
                assertTrue(kept.contains(0) && kept.contains(1), "sinks kept");
                for (int p = 80; p < 88; p++) assertTrue(kept.contains(p), "recent window kept");
            }
        }
        for (int i = 0; i < 30; i++) d.step(1, true, true, 1e-5, "after eviction");
        // later blocks of 8 leaving the window keep round(0.25 * 8) = 2 tokens each
        KvStats st = c.stats();
        assertEquals(118, st.tokensSeen());
        assertTrue(st.tokensKept() < 0.5 * 118, "kept " + st.tokensKept());
    }

    @Test
    void h2oAndStreamingEvictionAttendOverWhatTheyKept() {
        for (EvictionPolicy ev : new EvictionPolicy[]{EvictionPolicy.h2o(0.5), EvictionPolicy.streaming(4)}) {
            KvCompression cfg = KvCompression.builder().window(8).block(4).eviction(ev).build();
            Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 15);
            d.step(30, false, false, 0, "");
            d.cache.endOfPrompt();
            for (int i = 0; i < 20; i++) d.step(1, true, true, 1e-5, ev.spec());
            Set<Integer> kept = keptPositions((CompressedKvCache) d.cache, 0, 0);
            for (int p = 0; p < 4; p++) assertTrue(kept.contains(p), "sink " + p + " kept by " + ev.spec());
            if (ev instanceof StreamingEviction) assertTrue(kept.size() <= 4 + 8 + 4, "streaming keeps sinks + window");
        }
    }

    @Test
    void h2oAndSnapKvKeepTheTokensTheQueriesAttendTo() {
        KvLayout layout = new KvLayout(1, 2, 1, 16, 4096, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 16));
        for (String ev : new String[]{"h2o:0.25", "snapkv:0.25"}) {
            CompressedKvCache c = (CompressedKvCache) KvSpec.parse("k=fp32,v=fp32,evict=" + ev + ",sinks=0,pool=1,window=8,block=8").create(layout);
            Random rnd = new Random(8);
            int n = 88;
            float[] u = new float[16];
            for (int i = 0; i < 16; i++) u[i] = (float) rnd.nextGaussian();
            Set<Integer> magnets = Set.of(5, 17, 40, 41, 63);
            float[] k = new float[n * 16], v = new float[n * 16], q = new float[n * 2 * 16];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < 16; i++) {
                    k[t * 16 + i] = magnets.contains(t) ? 3f * u[i] : 0.3f * (float) rnd.nextGaussian();
                    v[t * 16 + i] = (float) rnd.nextGaussian();
                    q[t * 32 + i] = u[i];
                    q[t * 32 + 16 + i] = u[i];
                }
            }
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = i;
            c.append(0, n, pos, k, v);
            c.attend(0, 0, n, pos, q, new float[q.length]);
            c.endOfPrompt();
            Set<Integer> kept = keptPositions(c, 0, 0);
            assertEquals(8 + 20, kept.size(), ev); // window 8 + round(0.25 * 80)
            for (int p : magnets) assertTrue(kept.contains(p), ev + " kept the attended token " + p);
        }
    }

    @Test
    void bytesAreCountedFromTheArraysHeld() {
        KvCompression cfg = KvCompression.builder().codecs("fp16", "fp32").window(8).block(4)
                .windowPrecision(KvCompression.Precision.F16)
                .eviction(EvictionPolicy.snapKv(0.5)).center(true, true).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 16);
        CompressedKvCache c = (CompressedKvCache) d.cache;
        assertEquals(c.recountBytes(), c.stats().bytes());
        for (int i = 0; i < 3; i++) {
            d.step(13, false, false, 0, "");
            assertEquals(c.recountBytes(), c.stats().bytes());
        }
        c.endOfPrompt();
        assertEquals(c.recountBytes(), c.stats().bytes());
        for (int i = 0; i < 40; i++) {
            d.step(1, false, false, 0, "");
            assertEquals(c.recountBytes(), c.stats().bytes(), "after decode step " + i);
        }
        KvStats st = c.stats();
        assertEquals(39 + 40, st.tokensSeen());
        assertEquals(st.tokensSeen() * LAYOUT.fp16BytesPerToken(), st.fp16Bytes());
    }

    @Test
    void memoryBudgetStopsGrowthWithAClearError() {
        long budget = 64 * 1024;
        KvCompression cfg = KvCompression.builder().memoryBudget(budget).build();
        Driver d = new Driver(LAYOUT, cfg.create(LAYOUT), 17);
        KvMemoryExceededException e = assertThrows(KvMemoryExceededException.class, () -> {
            for (int i = 0; i < 1000; i++) d.step(16, false, false, 0, "");
        });
        assertTrue(e.getMessage().contains("budget"), e.getMessage());
        assertTrue(((CompressedKvCache) d.cache).stats().bytes() <= budget);
    }

    @Test
    void positionsMustIncrease() {
        KvCache c = KvCompression.builder().build().create(LAYOUT);
        float[] kv = new float[LAYOUT.kvDim()];
        c.append(0, 1, new int[]{5}, kv, kv);
        assertThrows(IllegalArgumentException.class, () -> c.append(0, 1, new int[]{5}, kv, kv));
    }

    @Test
    void aClosedCacheRefusesWorkWithAnIllegalStateException() {
        CompressedKvCache c = (CompressedKvCache) Quality.BALANCED.config().create(LAYOUT);
        Driver d = new Driver(LAYOUT, c, 41);
        d.step(40, false, false, 0, "");
        c.close();
        float[] q = new float[LAYOUT.qDim()], out = new float[LAYOUT.qDim()];
        assertThrows(IllegalStateException.class, () -> c.attend(0, 0, 1, new int[]{40}, q, out));
        assertThrows(IllegalStateException.class, () -> c.append(0, 1, new int[]{40}, new float[LAYOUT.kvDim()], new float[LAYOUT.kvDim()]));
        assertThrows(IllegalStateException.class, c::endOfPrompt);
        assertEquals(40, c.stats().tokensSeen(), "what it held at its end stays readable");
    }

    @Test
    void theBitAllocationMeasuresTheKeysAsTheyWillBeStored() {
        // key balancing, centring, rotation and keys stored with RoPE undone: the measure must see all of them
        for (String keys : new String[]{"post", "pre"}) {
            KvCompression cfg = KvSpec.parse("k=e8:2,v=e8:2,kbal=on,center=kv,rot=on,keys=" + keys + ",window=8,block=8,obs=16");
            CompressedKvCache c = (CompressedKvCache) cfg.create(LAYOUT);
            Driver d = new Driver(LAYOUT, c, 42);
            d.step(50, false, false, 0, "");
            float[][] preview = new float[LAYOUT.layers() * LAYOUT.kvHeads()][];
            for (int l = 0; l < LAYOUT.layers(); l++) {
                for (int h = 0; h < LAYOUT.kvHeads(); h++) preview[l * LAYOUT.kvHeads() + h] = c.previewStoredKeys(l, h);
            }
            c.endOfPrompt();
            for (int l = 0; l < LAYOUT.layers(); l++) {
                for (int h = 0; h < LAYOUT.kvHeads(); h++) {
                    float[] p = preview[l * LAYOUT.kvHeads() + h];
                    assertEquals(42 * LAYOUT.headDim(), p.length);
                    float[] stored = java.util.Arrays.copyOf(c.expand(l, h).keys(), p.length);
                    assertArrayEquals(stored, p, "keys=" + keys + " layer " + l + " head " + h);
                }
            }
        }
    }
}
