package dev.nexusquant.eval.perplexity;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.eval.Workers;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * llama.cpp's perplexity protocol on chosen chunks, with a compressing cache measured under a {@link Protocol}.
 * The text (BOS first) is cut into chunks of {@code nCtx} tokens, the first token of each set to BOS; per chunk a
 * fresh session prefills tokens {@code [0, nCtx/2)}, ends the prompt (a compressing cache compresses here), then
 * teacher-forces {@code [nCtx/2, nCtx-1)} and scores the logits at {@code nCtx/2 .. nCtx-2} against the next token
 * ({@code nCtx/2 - 1} predictions per chunk). Under {@link Protocol#CONTEXT} the cache is frozen after the prompt and
 * the ratio is taken there; under {@link Protocol#STREAMING} it keeps compressing and the ratio is taken at the end.
 * With a dense cache both protocols give the same NLL as {@code dev.nexusquant.engine.eval.Perplexity}.
 */
public final class ChunkedPerplexity {

    private ChunkedPerplexity() {
    }

    /**
     * The outcome of a run.
     *
     * @param chunks  per chunk, in the order of the chunk indices
     * @param seconds wall time
     */
    public record Result(Protocol protocol, int nCtx, List<ChunkScore> chunks, double seconds, String cache) {

        public long scored() {
            long s = 0;
            for (ChunkScore c : chunks) s += c.scored();
            return s;
        }

        public double nllPerToken() {
            double n = 0;
            for (ChunkScore c : chunks) n += c.nll();
            return n / scored();
        }

        public double ppl() {
            return Math.exp(nllPerToken());
        }

        /** Standard error of the mean NLL over the scored predictions. */
        public double nllStdError() {
            double n2 = 0;
            for (ChunkScore c : chunks) n2 += c.nll2();
            long s = scored();
            double mean = nllPerToken();
            return s > 1 ? Math.sqrt(Math.max(0, n2 / s - mean * mean) / (s - 1)) : 0;
        }

        /** Total fp16 bytes over total bytes held, over all chunks. */
        public double ratio() {
            double b = 0, f = 0;
            for (ChunkScore c : chunks) {
                b += c.bytes();
                f += c.fp16Bytes();
            }
            return b == 0 ? 0 : f / b;
        }

        public double meanBytes() {
            return chunks.stream().mapToLong(ChunkScore::bytes).average().orElse(0);
        }

        public double meanFp16Bytes() {
            return chunks.stream().mapToLong(ChunkScore::fp16Bytes).average().orElse(0);
        }

        public double meanKept() {
            return chunks.stream().mapToDouble(ChunkScore::kept).average().orElse(0);
        }

        public int[] chunkIndices() {
            return chunks.stream().mapToInt(ChunkScore::chunk).toArray();
        }

        /**
         * Per-chunk perplexity change in percent against a baseline run on the same chunks.
         *
         * @return [chunks] 100 * (ppl / baseline ppl - 1)
         */
        public double[] changesAgainst(Result baseline) {
            if (!Arrays.equals(chunkIndices(), baseline.chunkIndices())) {
                throw new IllegalArgumentException("the baseline ran on other chunks");
            }
            double[] d = new double[chunks.size()];
            for (int i = 0; i < d.length; i++) d[i] = 100 * (chunks.get(i).ppl() / baseline.chunks.get(i).ppl() - 1);
            return d;
        }
    }

    /** The number of chunks of {@code nCtx} tokens a text of {@code tokens} tokens has. */
    public static int available(int tokens, int nCtx) {
        return tokens / nCtx;
    }

    /**
     * Evaluates the chunks {@code chunkIndices} of {@code tokens}, up to {@code threads} chunks at once, each in its own
     * session (results are kept in chunk order, so they do not depend on the number of threads).
     */
    public static Result evaluate(Model model, int[] tokens, int nCtx, int[] chunkIndices, KvCacheFactory factory,
                                  Protocol protocol, ProgressListener progress, int threads) {
        return evaluate(model, tokens, nCtx, chunkIndices, c -> factory, factory.describe(), protocol, progress, threads);
    }

    /**
     * As {@link #evaluate(Model, int[], int, int[], KvCacheFactory, Protocol, ProgressListener, int)}, each chunk with
     * its own cache factory ({@code factories.apply(chunk index)}, called in the worker that evaluates the chunk): for
     * analyses that prepare a chunk's cache from the chunk itself. {@code cache} names the setting in the result.
     */
    public static Result evaluate(Model model, int[] tokens, int nCtx, int[] chunkIndices,
                                  java.util.function.IntFunction<KvCacheFactory> factories, String cache,
                                  Protocol protocol, ProgressListener progress, int threads) {
        if (nCtx < 4 || (nCtx & 1) != 0) throw new IllegalArgumentException("the context must be an even number >= 4, is " + nCtx);
        int available = available(tokens.length, nCtx);
        if (available == 0) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than one chunk of " + nCtx
                    + " (use a smaller --ctx or a longer text)");
        }
        for (int c : chunkIndices) {
            if (c < 0 || c >= available) {
                throw new IllegalArgumentException("chunk " + c + " does not exist (the text has " + available + " chunks of " + nCtx + ")");
            }
        }
        int n = chunkIndices.length;
        long t0 = System.nanoTime();
        ChunkScore[] results = new ChunkScore[n];
        AtomicInteger next = new AtomicInteger();
        Object lock = new Object();
        int[] done = {0};
        double[] running = {0};
        long[] scored = {0};
        Throwable[] failure = {null};
        Runnable worker = () -> {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                ChunkScore r;
                try {
                    r = chunk(model, tokens, chunkIndices[i], nCtx, factories.apply(chunkIndices[i]), protocol);
                } catch (RuntimeException | Error e) {
                    synchronized (lock) {
                        if (failure[0] == null) failure[0] = e;
                    }
                    next.set(n);
                    return;
                }
                synchronized (lock) {
                    results[i] = r;
                    done[0]++;
                    running[0] += r.nll();
                    scored[0] += r.scored();
                    progress.progress(done[0], n, Math.exp(running[0] / scored[0]));
                }
            }
        };
        Workers.run(Math.max(1, Math.min(threads, n)), "nq-ppl", worker);
        if (failure[0] instanceof RuntimeException e) throw e;
        if (failure[0] instanceof Error e) throw e;
        return new Result(protocol, nCtx, List.of(results), (System.nanoTime() - t0) / 1e9, cache);
    }

    /** One chunk under the protocol. */
    static ChunkScore chunk(Model model, int[] tokens, int c, int nCtx, KvCacheFactory factory, Protocol protocol) {
        int first = nCtx / 2, scoredPerChunk = nCtx - 1 - first, vocab = model.config().vocabSize();
        int[] chunk = Arrays.copyOfRange(tokens, c * nCtx, (c + 1) * nCtx);
        chunk[0] = model.tokenizer().bos();
        double nllSum = 0, nll2Sum = 0;
        try (Session s = model.newSession(factory)) {
            s.forward(chunk, 0, first, false);
            if (protocol == Protocol.CONTEXT) s.kvCache().freeze(); // before the end: no staging block is budgeted
            s.endOfPrompt();
            KvStats atPrompt = s.kvCache().stats();
            String allocation = s.kvCache().allocation();
            float[] logits = s.forward(chunk, first, scoredPerChunk, true);
            for (int j = 0; j < scoredPerChunk; j++) {
                double nll = Perplexity.nll(logits, j * vocab, vocab, chunk[first + j + 1]);
                nllSum += nll;
                nll2Sum += nll * nll;
            }
            KvStats st = protocol == Protocol.CONTEXT ? atPrompt : s.kvCache().stats();
            return new ChunkScore(c, nllSum, nll2Sum, scoredPerChunk, st.bytes(), st.fp16Bytes(), st.tokensKept(),
                    allocation == null ? "" : allocation);
        }
    }
}
