package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
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
        // BALANCED spends the budget as a target: it never fills; 3,000 tokens are 14 times what fp16 held
        long balanced = tokensUntilFull(Quality.BALANCED.config().withMemoryBudget(budget), 3_000);
        assertTrue(dense >= 150 && dense <= 205 + 16, "fp16 holds about budget / 5 KiB tokens (one 16-token step more counted): " + dense);
        assertTrue(balanced >= 3_000, "BALANCED within the same budget never runs out: " + balanced);
        assertTrue(balanced >= 10 * dense, "BALANCED holds " + balanced + " tokens, uncompressed " + dense);
    }

    @Test
    void theBudgetIsParsedFromTheSpecAndNamedInTheError() {
        KvCompression c = KvSpec.parse("k=fp16,v=fp16,mem=256K");
        assertEquals(256 * 1024, c.memoryBudget());
        long tokens = tokensUntilFull(c, 10_000);
        assertTrue(tokens <= 64, "256 KiB hold about 51 tokens of 5 KiB: " + tokens);
    }

    /** One query head per KV head so that the budget is mostly rows: 4 layers, 2 KV heads of 64. */
    static final KvLayout SMALL = new KvLayout(4, 2, 2, 64, 1 << 20, new RopeSpec(RopeSpec.Style.ADJACENT, 10000, 1, 64));

    /**
     * Runs a {@code prompt}-token prompt (in the batches the cache accepts, as a session does) and {@code generated}
     * tokens one at a time, attending after every append; checks after each append that the cache holds no more
     * than {@code limit} bytes (0: no check). Returns [bytes at the prompt's end, bytes at the end] and fills
     * {@code outputs} (when not null) with every attention output, in order.
     */
    static long[] run(KvCache c, int prompt, int generated, long limit, java.util.List<float[]> outputs) {
        Random rnd = new Random(11);
        int kvDim = SMALL.kvDim(), qDim = SMALL.qDim();
        long atPromptEnd = -1;
        for (int next = 0; next < prompt + generated; ) {
            boolean inPrompt = next < prompt;
            int n = inPrompt ? Math.min(Math.min(256, c.maxAppend()), prompt - next) : 1;
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) pos[i] = next + i;
            for (int l = 0; l < SMALL.layers(); l++) {
                float[] k = new float[n * kvDim], v = new float[n * kvDim], q = new float[n * qDim];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian() + (i % 7 == 0 ? 1.5f : 0f);
                    v[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                c.append(l, n, pos, k, v);
                if (limit > 0) assertTrue(c.stats().bytes() <= limit, "after " + (next + n) + " tokens (layer " + l + "): "
                        + c.stats().bytes() + " bytes held, budget " + limit);
                for (int h = 0; h < SMALL.kvHeads(); h++) {
                    float[] out = new float[q.length];
                    c.attend(l, h, n, pos, q, out);
                    if (outputs != null) outputs.add(out);
                }
            }
            next += n;
            if (next == prompt) {
                c.endOfPrompt();
                atPromptEnd = c.stats().bytes();
                if (limit > 0) assertTrue(atPromptEnd <= limit, "at the prompt's end: " + atPromptEnd + " bytes, budget " + limit);
            }
        }
        return new long[]{atPromptEnd, c.stats().bytes()};
    }

    @Test
    void withARatioTargetTheMemoryBudgetIsSpentAndNeverExceededThroughPromptAndGeneration() {
        long budget = 400 * 1024; // 2,300 tokens of this layout take 4.6 MB in fp16: 11.5x, not HIGH's 10x
        for (Quality q : Quality.values()) {
            KvCache c = q.config().withMemoryBudget(budget).create(SMALL);
            // before: the prompt was staged uncompressed and the budget was exceeded after 256 of its tokens
            long[] held = run(c, 2000, 300, budget, null);
            KvStats s = c.stats();
            // while the prompt comes in pieces its staging room and young rows take much of the budget, which the
            // prompt's end frees and generation's aging rows fill; where the preset's ratio asks for less, it holds
            // (held bytes count the staging block's capacity whole: 16 fp16 rows a head with block=16, 4 with block=4)
            long wanted = Math.min((long) (s.fp16Bytes() / q.config().ratio()), budget * 35 / 100);
            long wantedAtPromptEnd = Math.min((long) (s.fp16Bytes() * 2000 / 2300 / q.config().ratio()), budget * 15 / 100);
            assertTrue(held[0] >= wantedAtPromptEnd * 9 / 10, q + " spends the budget at the prompt's end: " + held[0] + " of " + budget);
            assertTrue(held[1] >= wanted * 9 / 10, q + " spends the budget after generating: " + held[1] + " of " + budget
                    + ", the ratio alone asking " + (long) (s.fp16Bytes() / q.config().ratio()));
            if (s.fp16Bytes() / q.config().ratio() > budget) {
                assertTrue(s.ratio() > q.config().ratio(), q + " goes above its ratio when the budget binds: " + s);
            } else if (s.fp16Bytes() / q.config().ratio() < budget * 6 / 10) {
                assertEquals(q.config().ratio(), s.ratio(), 0.03 * q.config().ratio(), q + " meets its ratio where the budget does not bind: " + s);
            }
            System.out.printf("%s with %d bytes: %d held at the prompt's end, %d after 300 tokens more (%.1fx)%n",
                    q, budget, held[0], held[1], s.ratio());
        }
    }

    /**
     * A prompt past the staging limit is compressed in pieces, each planned against what the cache already holds:
     * the prompt's rows come close to the preset's ratio at its end (context protocol: the cache frozen first, as
     * {@code ./nq perplexity --protocol context} does). Before, the first piece's plan served every later one: on
     * nq-ref-27m, BALANCED with 512-token pieces held 15.0x and with 256-token pieces 7.6x where 17x was asked.
     */
    @Test
    void aPromptPastTheStagingLimitIsCompressedInPiecesAtThePresetsRatio() {
        for (Quality q : Quality.values()) {
            for (boolean hint : new boolean[]{false, true}) {
                KvCache c = KvSpec.parse(q.name().toLowerCase(java.util.Locale.ROOT) + ",staging=300").create(SMALL);
                c.freeze();
                if (hint) c.expectPrompt(1500);
                run(c, 1500, 0, 0, null); // batches of 256: pieces of 256 rows
                KvStats s = c.stats();
                // never above the target's bytes by more than 3%; below it by up to 8% when told the prompt's length
                // (HIGH: its 192 young rows leave the last piece few old rows to spend the rest on) and 14% when not
                // (an early piece's young rows take most of its share and the rows it cuts are not given back; HIGH
                // ranked by 1,024 queries held 11.35x here, past the 13% that held with 256)
                double r = q.config().ratio();
                String what = q + (hint ? " told the prompt's length" : "") + ", the prompt in pieces: " + s;
                assertTrue(s.ratio() >= 0.97 * r, what);
                assertTrue(s.ratio() <= (hint ? 1.08 : 1.14) * r, what);
            }
        }
    }

    @Test
    void aMemoryBudgetThatDoesNotBindChangesNothing() {
        for (Quality q : Quality.values()) {
            java.util.List<float[]> plain = new java.util.ArrayList<>(), budgeted = new java.util.ArrayList<>();
            KvCache a = q.config().create(SMALL);
            KvCache b = q.config().withMemoryBudget(64L << 20).create(SMALL);
            long[] ha = run(a, 700, 40, 0, plain);
            long[] hb = run(b, 700, 40, 64L << 20, budgeted);
            assertEquals(ha[0], hb[0], q + ": bytes at the prompt's end");
            assertEquals(ha[1], hb[1], q + ": bytes at the end");
            assertEquals(plain.size(), budgeted.size());
            for (int i = 0; i < plain.size(); i++) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(plain.get(i), budgeted.get(i), q + ": attention output " + i);
            }
        }
    }

    @Test
    void aBudgetTooSmallIsNotExceededByTheTransformFittedWithAPiece() {
        // blocks of 4: the first piece's transform (means, 512 bytes) is fitted when the cache is 16 bytes short of the
        // budget; it fails there instead of holding 98,320 bytes of a 98,304-byte budget
        KvCache c = KvSpec.parse("balanced,block=4").withMemoryBudget(96 * 1024).create(SMALL);
        KvMemoryExceededException e = org.junit.jupiter.api.Assertions.assertThrows(KvMemoryExceededException.class,
                () -> run(c, 2000, 0, 0, null));
        assertTrue(e.getMessage().contains("budget"), e.getMessage());
        assertTrue(c.stats().bytes() <= 96 * 1024, "never above the budget: " + c.stats().bytes());
    }

    @Test
    void aBudgetTooSmallForTheYoungRowsFailsWithATypedError() {
        KvCache c = Quality.BALANCED.config().withMemoryBudget(96 * 1024).create(SMALL);
        KvMemoryExceededException e = org.junit.jupiter.api.Assertions.assertThrows(KvMemoryExceededException.class,
                () -> run(c, 2000, 0, 0, null));
        assertTrue(e.getMessage().contains("budget"), e.getMessage());
        assertTrue(c.stats().bytes() <= 96 * 1024, "never above the budget: " + c.stats().bytes());
    }
}
