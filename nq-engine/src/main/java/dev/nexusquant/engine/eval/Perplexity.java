package dev.nexusquant.engine.eval;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Perplexity with the protocol of llama.cpp's {@code llama-perplexity}, for any KV cache.
 *
 * <ol>
 *   <li>The whole text is tokenized once, BOS first ({@link #tokenizeFile} reads the file as raw bytes and drops
 *       exactly one trailing newline, as llama.cpp's {@code -f} does).</li>
 *   <li>It is cut into {@code floor(tokens / nCtx)} chunks of {@code nCtx} tokens (at most {@code maxChunks}); the
 *       first token of each chunk is replaced by BOS.</li>
 *   <li>Per chunk: a fresh session from the factory; tokens {@code [0, nCtx/2)} are run as one prefill; the cache is
 *       told {@link Session#endOfPrompt()} (a compressing cache compresses here); tokens {@code [nCtx/2, nCtx-1)} are
 *       run as a second batch, and the logits at positions {@code nCtx/2 .. nCtx-2} are scored against the next token:
 *       {@code nCtx/2 - 1} predictions per chunk, so a compressing cache is measured on what it compressed.</li>
 *   <li>NLL is accumulated in double; perplexity is {@code exp(mean NLL)}.</li>
 * </ol>
 */
public final class Perplexity {

    private Perplexity() {
    }

    /** Reads a text file as strict UTF-8 (invalid bytes are an error naming the offset) and drops one trailing \n. */
    public static String readText(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        int n = bytes.length;
        if (n > 0 && bytes[n - 1] == '\n') n--;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, n)).toString();
        } catch (MalformedInputException e) {
            throw new CharacterCodingException() {
                @Override
                public String getMessage() {
                    return path + " is not valid UTF-8 text (" + firstInvalid(bytes) + ")";
                }
            };
        }
    }

    private static String firstInvalid(byte[] b) {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b);
        var out = java.nio.CharBuffer.allocate(b.length + 1);
        var r = dec.decode(in, out, true);
        return r.isError() ? "invalid byte 0x" + Integer.toHexString(b[in.position()] & 0xFF) + " at offset " + in.position() : "invalid bytes";
    }

    /** Tokenizes a text file for perplexity: raw UTF-8, one trailing newline dropped, BOS first. */
    public static int[] tokenizeFile(Model model, Path path) throws IOException {
        return model.tokenizer().encode(readText(path), true);
    }

    /**
     * Evaluates perplexity of {@code tokens} (BOS first) in chunks of {@code nCtx}, one chunk after the other (the work
     * inside a chunk is spread over the cores).
     *
     * @param maxChunks at most this many chunks (0 or less: all)
     * @param factory   the KV cache of every chunk's session
     */
    public static PerplexityResult evaluate(Model model, int[] tokens, int nCtx, int maxChunks, KvCacheFactory factory,
                                            ProgressListener progress) {
        return evaluate(model, tokens, nCtx, 0, maxChunks, factory, progress, 1);
    }

    /**
     * Chunks to evaluate at once for a model: all cores for small models, whose matrix products are too small to
     * spread over cores (measured on stories260K, 2 cores: two chunks at once took 3.7 s where one at a time took
     * 7.2-7.7 s), else 1 (the products of larger models already use every core).
     */
    public static int autoChunkThreads(Model model) {
        return model.config().parameters() < 4_000_000L ? dev.nexusquant.engine.tensor.Parallel.threads() : 1;
    }

    /** One chunk's outcome: NLL sums in double and the cache's stats at the end of the chunk. */
    private record Chunk(double nll, double nll2, KvStats stats) {}

    /**
     * As {@link #evaluate(Model, int[], int, int, KvCacheFactory, ProgressListener)}, with up to {@code chunkThreads}
     * chunks evaluated at once, each in its own session (results are summed in chunk order, so they do not depend on
     * the number of threads beyond float rounding inside a chunk).
     */
    public static PerplexityResult evaluate(Model model, int[] tokens, int nCtx, int maxChunks, KvCacheFactory factory,
                                            ProgressListener progress, int chunkThreads) {
        return evaluate(model, tokens, nCtx, 0, maxChunks, factory, progress, chunkThreads);
    }

    /**
     * As {@link #evaluate(Model, int[], int, int, KvCacheFactory, ProgressListener, int)}, starting at chunk
     * {@code firstChunk} (so that settings chosen on the first chunks can be reported on later ones).
     */
    public static PerplexityResult evaluate(Model model, int[] tokens, int nCtx, int firstChunk, int maxChunks,
                                            KvCacheFactory factory, ProgressListener progress, int chunkThreads) {
        if (firstChunk < 0) throw new IllegalArgumentException("the first chunk must be >= 0, is " + firstChunk);
        if (nCtx < 4 || (nCtx & 1) != 0) throw new IllegalArgumentException("the context must be an even number >= 4, is " + nCtx);
        int available = tokens.length / nCtx;
        if (available == 0) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than one chunk of " + nCtx
                    + " (use a smaller --ctx or a longer text)");
        }
        if (firstChunk >= available) {
            throw new IllegalArgumentException("the text has " + available + " chunks of " + nCtx + ", so chunk "
                    + firstChunk + " does not exist");
        }
        int chunks = maxChunks > 0 ? Math.min(available - firstChunk, maxChunks) : available - firstChunk;
        int first = nCtx / 2;
        int scoredPerChunk = nCtx - 1 - first;
        long t0 = System.nanoTime();
        Chunk[] results = new Chunk[chunks];
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        Object lock = new Object();
        int[] done = {0};
        double[] running = {0};
        Runnable worker = () -> {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                Chunk r = chunk(model, tokens, firstChunk + c, nCtx, factory);
                synchronized (lock) {
                    results[c] = r;
                    done[0]++;
                    running[0] += r.nll;
                    progress.progress(done[0], chunks, Math.exp(running[0] / ((long) done[0] * scoredPerChunk)));
                }
            }
        };
        int threads = Math.max(1, Math.min(chunkThreads, chunks));
        Workers.run(threads, "nq-ppl", worker);
        if (threads > 1) for (Chunk r : results) if (r == null) throw new IllegalStateException("a chunk failed");
        double nllSum = 0, nll2Sum = 0, bytesSum = 0, fp16Sum = 0, keptSum = 0;
        for (Chunk r : results) {
            nllSum += r.nll;
            nll2Sum += r.nll2;
            bytesSum += r.stats.bytes();
            fp16Sum += r.stats.fp16Bytes();
            keptSum += r.stats.tokensKept();
        }
        long scored = (long) chunks * scoredPerChunk;
        double seconds = (System.nanoTime() - t0) / 1e9;
        double mean = nllSum / scored;
        double var = Math.max(0, nll2Sum / scored - mean * mean);
        double stderr = scored > 1 ? Math.sqrt(var / (scored - 1)) : 0;
        return new PerplexityResult(Math.exp(mean), mean, stderr, nCtx, chunks, scored, tokens.length, seconds,
                (double) chunks * (nCtx - 1) / seconds, bytesSum / chunks, fp16Sum / chunks,
                bytesSum == 0 ? 0 : fp16Sum / bytesSum, keptSum / chunks, factory.describe());
    }

    /** Chunk {@code c}: prefill the first half, end of prompt, then score the second half. */
    private static Chunk chunk(Model model, int[] tokens, int c, int nCtx, KvCacheFactory factory) {
        int first = nCtx / 2, scoredPerChunk = nCtx - 1 - first, vocab = model.config().vocabSize();
        int[] chunk = java.util.Arrays.copyOfRange(tokens, c * nCtx, (c + 1) * nCtx);
        chunk[0] = model.tokenizer().bos();
        double nllSum = 0, nll2Sum = 0;
        try (Session s = model.newSession(factory)) {
            s.forward(chunk, 0, first, false);
            s.endOfPrompt();
            float[] logits = s.forward(chunk, first, scoredPerChunk, true);
            for (int j = 0; j < scoredPerChunk; j++) {
                double nll = nll(logits, j * vocab, vocab, chunk[first + j + 1]);
                nllSum += nll;
                nll2Sum += nll * nll;
            }
            return new Chunk(nllSum, nll2Sum, s.kvCache().stats());
        }
    }

    /** -log softmax(logits[off .. off + n))[target], in double. */
    public static double nll(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        return Math.log(sum) + max - logits[off + target];
    }
}
