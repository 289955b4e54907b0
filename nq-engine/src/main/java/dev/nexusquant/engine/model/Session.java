package dev.nexusquant.engine.model;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.RopeSpec;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.engine.tensor.Linear;
import dev.nexusquant.engine.tensor.Parallel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * One sequence being processed by a {@link Model}: its KV cache, its position and its buffers. Not thread-safe: one
 * thread uses a session at a time (the work inside {@link #forward} is spread over the cores). Several sessions of one
 * model may run at once on different threads.
 */
public final class Session implements AutoCloseable {

    /** Tokens processed together at most; longer inputs are processed in several batches (same result). */
    public static final int MAX_BATCH = 256;

    private final Model model;
    private final ModelConfig c;
    private final Kernels k;
    private final KvCache cache;
    private int position;
    private boolean closed;
    /** Ids of the tokens at positions {@code tokensFrom .. position - 1}; [capacity]. */
    private int[] tokens = new int[64];
    /** The first position whose token id is known (0 unless the session began over a filled cache). */
    private final int tokensFrom;
    /** [vocab] logits of the last token processed, or null before the first. */
    private float[] lastLogits;

    // buffers for a batch of up to `capacity` tokens, row-major [tokens][width]
    private int capacity;
    private float[] x, xb, xb2, q, kk, vv, att, hb, hb2, cos, sin;
    /** [capacity]: the positions of a batch's tokens. */
    private int[] pos;

    Session(Model model, KvCache cache) {
        this.model = model;
        this.c = model.config();
        this.k = model.kernels();
        this.cache = cache;
        if (!cache.layout().equals(model.kvLayout())) {
            throw new IllegalArgumentException("KV cache layout " + cache.layout() + " does not match the model's " + model.kvLayout());
        }
        if (cache.tokensSeen() > Integer.MAX_VALUE) throw new IllegalArgumentException("KV cache holds too many tokens");
        this.position = (int) cache.tokensSeen(); // a cache that already holds tokens 0 .. n-1 continues at n
        this.tokensFrom = position;
    }

    /** A restored session: the cache holds exactly {@code tokens}, and {@code logits} are those of the last one. */
    Session(Model model, KvCache cache, int[] tokens, float[] logits) {
        this.model = model;
        this.c = model.config();
        this.k = model.kernels();
        this.cache = cache;
        if (!cache.layout().equals(model.kvLayout())) {
            throw new IllegalArgumentException("KV cache layout " + cache.layout() + " does not match the model's " + model.kvLayout());
        }
        if (cache.tokensSeen() != tokens.length) throw new IllegalArgumentException("the cache holds " + cache.tokensSeen() + " tokens, not " + tokens.length);
        this.position = tokens.length;
        this.tokensFrom = 0;
        this.tokens = Arrays.copyOf(tokens, Math.max(64, tokens.length));
        this.lastLogits = logits == null ? null : logits.clone();
    }

    public Model model() {
        return model;
    }

    /** Position of the next token: the number of tokens processed so far. */
    public int position() {
        return position;
    }

    public KvCache kvCache() {
        return cache;
    }

    /** Marks the end of the prompt for the KV cache (a compressing cache compresses here). */
    public void endOfPrompt() {
        cache.endOfPrompt();
    }

    /**
     * Tells the KV cache the prompt being prefilled holds {@code tokens} tokens in all (from position 0), for a
     * caller that runs it through {@link #forward} in several calls; one call to forward gives the hint itself.
     */
    public void expectPrompt(int tokens) {
        if (tokens < 0) throw new IllegalArgumentException("prompt length must be >= 0: " + tokens);
        cache.expectPrompt(tokens);
    }

    /**
     * Runs {@code tokens[from .. from + n)} through the model at positions {@link #position()} onward, appends their
     * keys and values to the KV cache, and advances the position by {@code n}.
     *
     * @param allLogits whether to return the logits of every token, or only of the last
     * @return {@code [vocab]} logits of the last token, or {@code [n][vocab]} when {@code allLogits}
     */
    public float[] forward(int[] tokens, int from, int n, boolean allLogits) {
        if (closed) throw new IllegalStateException("session is closed");
        if (n <= 0 || from < 0 || from > tokens.length - n) {
            throw new IllegalArgumentException("forward: bad range from=" + from + " n=" + n + " of " + tokens.length + " tokens");
        }
        for (int i = from; i < from + n; i++) {
            if (tokens[i] < 0 || tokens[i] >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at index " + i + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
        }
        if ((long) position + n > Integer.MAX_VALUE) throw new IllegalStateException("position overflow");
        int vocab = c.vocabSize();
        int known = position - tokensFrom;
        if (known + n > this.tokens.length) this.tokens = Arrays.copyOf(this.tokens, Math.max(known + n, 2 * this.tokens.length));
        float[] logits = new float[allLogits ? n * vocab : vocab];
        if (n > 1) cache.expectPrompt((long) position + n); // a prompt being prefilled holds at least these tokens
        for (int done = 0; done < n; ) {
            int b = Math.min(Math.min(MAX_BATCH, Math.max(1, cache.maxAppend())), n - done);
            boolean last = done + b == n;
            System.arraycopy(tokens, from + done, this.tokens, position - tokensFrom, b);
            batch(tokens, from + done, b, allLogits || last, allLogits ? logits : null, done * vocab, logits, allLogits);
            done += b;
        }
        if (lastLogits == null) lastLogits = new float[vocab]; // kept for the session: a copy per step was 4 bytes x vocab of garbage
        System.arraycopy(logits, allLogits ? (n - 1) * vocab : 0, lastLogits, 0, vocab);
        return logits;
    }

    /** One batch of {@code n <= MAX_BATCH} tokens. */
    private void batch(int[] tokens, int from, int n, boolean wantLogits, float[] all, int allOff, float[] lastOut, boolean allLogits) {
        ensureCapacity(n);
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), ffn = c.ffnDim(), hd = c.headDim();
        int[] pos = this.pos;
        for (int i = 0; i < n; i++) pos[i] = position + i;

        // token embeddings: x[i] = E[token_i]
        for (int i = 0; i < n; i++) k.dequantizeRows(model.tokenEmbedding, tokens[from + i], 1, x, i * dim);
        ropeTables(pos, n);

        for (int l = 0; l < c.layers(); l++) {
            Model.Layer w = model.layers[l];
            // attention: xb = rmsnorm(x) * g; q, k, v = xb W^T (+ b); rotate q, k; cache; attend; x += att Wo^T
            rmsnorm(xb, x, w.attnNorm(), n, dim);
            Linear.apply(k, w.wq(), xb, 0, n, q, 0);
            Linear.apply(k, w.wk(), xb, 0, n, kk, 0);
            Linear.apply(k, w.wv(), xb, 0, n, vv, 0);
            if (w.bq() != null) {
                addBias(q, w.bq(), n, qDim);
                addBias(kk, w.bk(), n, kvDim);
                addBias(vv, w.bv(), n, kvDim);
            }
            rope(q, n, c.heads(), hd);
            rope(kk, n, c.kvHeads(), hd);
            cache.append(l, n, pos, kk, vv);
            final int layer = l;
            long attnWork = (long) n * (position + n) * qDim;
            int parts = Parallel.partsFor(attnWork, 1 << 16);
            Parallel.forRange(c.kvHeads(), parts, 1, (h0, h1) -> {
                for (int h = h0; h < h1; h++) cache.attend(layer, h, n, pos, q, att);
            });
            Linear.apply(k, w.wo(), att, 0, n, xb2, 0);
            add(x, xb2, n * dim);

            // feed-forward: x += (silu(xb Wg^T) * (xb Wu^T)) Wd^T, xb = rmsnorm(x) * g
            rmsnorm(xb, x, w.ffnNorm(), n, dim);
            Linear.apply(k, w.wGate(), xb, 0, n, hb, 0);
            Linear.apply(k, w.wUp(), xb, 0, n, hb2, 0);
            k.siluMul(hb, hb2, n * ffn);
            Linear.apply(k, w.wDown(), hb, 0, n, xb2, 0);
            add(x, xb2, n * dim);
        }
        position += n;

        if (!wantLogits) return;
        int vocab = c.vocabSize();
        if (allLogits) {
            rmsnorm(xb, x, model.outputNorm, n, dim);
            Linear.apply(k, model.output, xb, 0, n, all, allOff);
        } else { // only the last token's logits: normalize its row alone
            System.arraycopy(x, (n - 1) * dim, xb2, 0, dim);
            rmsnorm(xb, xb2, model.outputNorm, 1, dim);
            Linear.apply(k, model.output, xb, 0, 1, lastOut, 0);
        }
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, Math.min(MAX_BATCH, 2 * capacity));
        int dim = c.dim(), half = c.rope().rotaryDims() / 2;
        x = new float[cap * dim];
        xb = new float[cap * dim];
        xb2 = new float[cap * dim];
        q = new float[cap * c.qDim()];
        att = new float[cap * c.qDim()];
        kk = new float[cap * c.kvDim()];
        vv = new float[cap * c.kvDim()];
        hb = new float[cap * c.ffnDim()];
        hb2 = new float[cap * c.ffnDim()];
        cos = new float[cap * half];
        sin = new float[cap * half];
        pos = new int[cap];
        capacity = cap;
    }

    /** out[i] = x[i] / sqrt(mean(x[i]^2) + eps) * g, per token. */
    private void rmsnorm(float[] out, float[] in, float[] g, int n, int dim) {
        float eps = c.rmsEps();
        for (int i = 0; i < n; i++) {
            int o = i * dim;
            double ss = 0;
            for (int j = 0; j < dim; j++) ss += (double) in[o + j] * in[o + j];
            float scale = (float) (1.0 / Math.sqrt(ss / dim + eps));
            for (int j = 0; j < dim; j++) out[o + j] = in[o + j] * scale * g[j];
        }
    }

    private static void addBias(float[] v, float[] bias, int n, int width) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) v[i * width + j] += bias[j];
        }
    }

    private static void add(float[] a, float[] b, int len) {
        for (int i = 0; i < len; i++) a[i] += b[i];
    }

    /** cos/sin of angle (pos / linearScale) * base^(-2j / rotaryDims), per token and pair. */
    private void ropeTables(int[] pos, int n) {
        double[] inv = model.ropeInvFreq;
        int half = inv.length;
        double scale = c.rope().linearScale();
        for (int i = 0; i < n; i++) {
            double p = pos[i] / scale;
            for (int j = 0; j < half; j++) {
                double a = p * inv[j];
                cos[i * half + j] = (float) Math.cos(a);
                sin[i * half + j] = (float) Math.sin(a);
            }
        }
    }

    /** Rotates every head of {@code v} ([n][heads * hd]) in place; pairs per {@link RopeSpec.Style}. */
    private void rope(float[] v, int n, int heads, int hd) {
        int half = c.rope().rotaryDims() / 2;
        boolean adjacent = c.rope().style() == RopeSpec.Style.ADJACENT;
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < heads; h++) {
                int o = (i * heads + h) * hd;
                for (int j = 0; j < half; j++) {
                    float cs = cos[i * half + j], sn = sin[i * half + j];
                    int a = adjacent ? o + 2 * j : o + j;
                    int b = adjacent ? a + 1 : a + half;
                    float x0 = v[a], x1 = v[b];
                    v[a] = x0 * cs - x1 * sn;
                    v[b] = x0 * sn + x1 * cs;
                }
            }
        }
    }

    /** The ids of the tokens processed so far, positions {@code 0 .. position() - 1}, in order. */
    public int[] tokens() {
        if (tokensFrom != 0) {
            throw new IllegalStateException("this session began over a cache that already held " + tokensFrom
                    + " tokens; their ids are unknown");
        }
        return Arrays.copyOf(tokens, position);
    }

    /** The logits of the last token processed ({@code [vocab]}, a copy), or null before the first. */
    public float[] lastLogits() {
        return lastLogits == null ? null : lastLogits.clone();
    }

    float[] lastLogitsRef() {
        return lastLogits;
    }

    /**
     * Writes everything the session holds (tokens, the last logits and the KV cache's whole state, with the model's
     * identity) to {@code out} as a zstd-compressed, checksummed container; {@link Model#restore} gives back a
     * session that continues exactly here. Not concurrently with {@link #forward}.
     *
     * @return bytes written
     * @throws UnsupportedOperationException when the KV cache cannot be saved ({@code KvCache.stateType()} null)
     * @throws IllegalStateException         when the session began over a cache it did not fill (tokens unknown)
     */
    public long save(OutputStream out) throws IOException {
        if (closed) throw new IllegalStateException("session is closed");
        return SessionFile.write(this, out, true);
    }

    /**
     * Writes the session to {@code file} atomically: to a temporary file beside it, then moved over it, so that the
     * file holds either the old content or the complete new one.
     *
     * @return bytes written
     */
    public long save(Path file) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, abs.getFileName() + ".", ".tmp");
        try {
            long n;
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                n = save(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            return n;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The saved form as bytes (what {@link #save(OutputStream)} writes). */
    public byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            save(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Closes the KV cache. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cache.close();
    }
}
