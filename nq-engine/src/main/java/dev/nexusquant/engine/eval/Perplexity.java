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
     * Evaluates perplexity of {@code tokens} (BOS first) in chunks of {@code nCtx}.
     *
     * @param maxChunks at most this many chunks (0 or less: all)
     * @param factory   the KV cache of every chunk's session
     */
    public static PerplexityResult evaluate(Model model, int[] tokens, int nCtx, int maxChunks, KvCacheFactory factory,
                                            ProgressListener progress) {
        return evaluate(model, tokens, nCtx, 0, maxChunks, factory, progress);
    }

    /**
     * As {@link #evaluate(Model, int[], int, int, KvCacheFactory, ProgressListener)}, starting at chunk
     * {@code firstChunk} (so that settings chosen on the first chunks can be reported on later ones).
     */
    public static PerplexityResult evaluate(Model model, int[] tokens, int nCtx, int firstChunk, int maxChunks,
                                            KvCacheFactory factory, ProgressListener progress) {
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
        int vocab = model.config().vocabSize();
        int bos = model.tokenizer().bos();

        double nllSum = 0, nll2Sum = 0;
        long scored = 0;
        double bytesSum = 0, fp16Sum = 0, keptSum = 0;
        long t0 = System.nanoTime();
        int[] chunk = new int[nCtx];
        for (int c = 0; c < chunks; c++) {
            System.arraycopy(tokens, (firstChunk + c) * nCtx, chunk, 0, nCtx);
            chunk[0] = bos;
            KvStats stats;
            try (Session s = model.newSession(factory)) {
                s.forward(chunk, 0, first, false);
                s.endOfPrompt();
                float[] logits = s.forward(chunk, first, scoredPerChunk, true);
                for (int j = 0; j < scoredPerChunk; j++) {
                    double nll = nll(logits, j * vocab, vocab, chunk[first + j + 1]);
                    nllSum += nll;
                    nll2Sum += nll * nll;
                }
                scored += scoredPerChunk;
                stats = s.kvCache().stats();
            }
            bytesSum += stats.bytes();
            fp16Sum += stats.fp16Bytes();
            keptSum += stats.tokensKept();
            progress.progress(c + 1, chunks, Math.exp(nllSum / scored));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double mean = nllSum / scored;
        double var = Math.max(0, nll2Sum / scored - mean * mean);
        double stderr = scored > 1 ? Math.sqrt(var / (scored - 1)) : 0;
        return new PerplexityResult(Math.exp(mean), mean, stderr, nCtx, chunks, scored, tokens.length, seconds,
                (double) chunks * (nCtx - 1) / seconds, bytesSum / chunks, fp16Sum / chunks,
                bytesSum == 0 ? 0 : fp16Sum / bytesSum, keptSum / chunks, factory.describe());
    }

    /** -log softmax(logits)[target], in double. */
    static double nll(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        return Math.log(sum) + max - logits[off + target];
    }
}
