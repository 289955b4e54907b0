package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A memory budget stops a session before the heap runs out, and BALANCED fits many more tokens in it. */
class MemoryBudgetTest {

    /** The shape of the project's reference model: 10 layers, 4 query heads, 1 KV head of 128. */
    static final KvLayout LAYOUT = new KvLayout(10, 4, 1, 128, 1 << 20,
            new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 128));

    /** Generation-like use: a 64-token prompt, then 16 tokens per step (teacher-forced), until the budget stops it. */
    static long tokensUntilFull(KvCacheFactory f, long limit) {
        KvCache c = f.create(LAYOUT);
        Random rnd = new Random(5);
        int kvDim = LAYOUT.kvDim(), qDim = LAYOUT.qDim();
        int next = 0;
        try {
            while (next < limit) {
                int n = next == 0 ? 64 : 16;
                int[] pos = new int[n];
                for (int i = 0; i < n; i++) pos[i] = next + i;
                for (int l = 0; l < LAYOUT.layers(); l++) {
                    float[] k = new float[n * kvDim], v = new float[n * kvDim], q = new float[n * qDim];
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) rnd.nextGaussian() + (i % 9 == 0 ? 2f : 0f);
                        v[i] = (float) rnd.nextGaussian();
                    }
                    for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                    c.append(l, n, pos, k, v);
                    float[] out = new float[q.length];
                    for (int h = 0; h < LAYOUT.kvHeads(); h++) c.attend(l, h, n, pos, q, out);
                }
                if (next == 0) c.endOfPrompt();
                next += n;
            }
        } catch (KvMemoryExceededException e) {
            assertTrue(e.getMessage().contains("budget"), e.getMessage());
            assertTrue(c.stats().bytes() <= e.budget(), "the cache never holds more than its budget");
            return c.tokensSeen();
        }
        return next;
    }

    @Test
    void balancedHoldsAtLeastTenTimesTheTokensOfAnUncompressedCacheInTheSameBudget() {
        long budget = 1L << 20; // 1 MiB: 204 tokens of this model in fp16
        long dense = tokensUntilFull(KvSpec.parse("k=fp16,v=fp16,wprec=f16,window=32,block=32").withMemoryBudget(budget), 100_000);
        long balanced = tokensUntilFull(Quality.BALANCED.config().withMemoryBudget(budget), 100_000);
        assertTrue(dense >= 150 && dense <= 205 + 16, "fp16 holds about budget / 5 KiB tokens (one 16-token step more counted): " + dense);
        assertTrue(balanced >= 10 * dense, "BALANCED holds " + balanced + " tokens, uncompressed " + dense);
        System.out.printf("memory budget %d bytes: fp16 cache %d tokens, BALANCED %d tokens (%.1fx)%n", budget, dense,
                balanced, (double) balanced / dense);
    }

    @Test
    void theBudgetIsParsedFromTheSpecAndNamedInTheError() {
        KvCompression c = KvSpec.parse("k=fp16,v=fp16,mem=256K");
        assertEquals(256 * 1024, c.memoryBudget());
        long tokens = tokensUntilFull(c, 10_000);
        assertTrue(tokens <= 64, "256 KiB hold about 51 tokens of 5 KiB: " + tokens);
    }
}
