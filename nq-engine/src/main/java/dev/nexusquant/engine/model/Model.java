package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.tensor.HugePageArena;
import dev.nexusquant.engine.tensor.KernelPrimer;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.engine.tensor.Quants;
import dev.nexusquant.engine.tensor.Weights;
import dev.nexusquant.engine.tokenizer.StreamDecoder;
import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.function.UnaryOperator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A Llama-family model loaded from a GGUF file: configuration, tokenizer and weights (read in place from the mapped
 * file). Immutable apart from the default KV cache factory; any number of {@link Session}s may run on it at once, on
 * separate threads, each with its own buffers and KV cache.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("model.gguf"));
 *      Session s = model.newSession()) {
 *     float[] logits = s.forward(model.tokenizer().encode("Once upon a time", true), 0, 5, false);
 * }
 * }</pre>
 */
public final class Model implements AutoCloseable {

    /** Weights of one transformer block. Biases are null when the architecture has none. */
    record Layer(float[] attnNorm, Weights wq, Weights wk, Weights wv, Weights wo,
                 float[] bq, float[] bk, float[] bv,
                 float[] ffnNorm, Weights wGate, Weights wUp, Weights wDown) {}

    private final GgufFile file;
    private final Arena expanded;
    /**
     * Weights the kernels rearranged at load ({@link Kernels#prepare}), on huge pages where the system gives them
     * ({@link HugePageArena}); closed with the model. Weights no kernel rearranged are read from the file's mapping
     * (copying them onto huge pages did not pay: 1B Q8_0 rows read by the row kernel, 136 against 139 ms of CPU a token).
     */
    private final Arena prepared = HugePageArena.ofShared();
    /**
     * Parameters from which the kernels may rearrange the weights at load ({@link Kernels#prepare}): every model since
     * the grouped Q8_0 kernel also pays on the project's model's 512-value rows (about 1.2x in decode) and packing moves
     * 4 bytes at a time (before, models below 200 M parameters were left in the file's layout: row-by-row packing cost
     * about a second of load for a gain lost in the noise).
     */
    static final long PREPARE_MIN_PARAMETERS = 0L;
    /** Property that changes {@link #PREPARE_MIN_PARAMETERS} (tests pack the project's model with it). */
    static final String PREPARE_MIN_PROPERTY = "nq.prepareMinParameters";
    private final boolean prepare;
    /** The threads moving the weights onto huge pages after load ({@link HugePageArena#settle()}). */
    private final java.util.List<Thread> settling;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final Kernels kernels;
    final Weights tokenEmbedding;
    final Layer[] layers;
    final float[] outputNorm;
    final Weights output;
    /** [rotaryDims / 2]: base^(-2j / rotaryDims). */
    final double[] ropeInvFreq;
    private final AtomicReference<KvCacheFactory> factory = new AtomicReference<>(DenseKvCache.FP32);
    private volatile ModelIdentity identity;

    /** How fp16/bf16 weight matrices are held: decoded on the fly, or expanded to fp32 once at load. */
    public enum HalfWeights { KEEP, EXPAND }

    private Model(GgufFile file, Kernels kernels, HalfWeights half) throws GgufException {
        this.file = file;
        this.kernels = kernels;
        this.config = ModelConfig.fromGguf(file);
        this.tokenizer = Tokenizer.fromGguf(file);
        ModelConfig c = config;
        if (tokenizer.vocabSize() != c.vocabSize()) {
            throw new GgufException("tokenizer.ggml.tokens", tokenizer.vocabSize() + " tokens, but token_embd.weight has "
                    + c.vocabSize() + " rows");
        }
        this.expanded = half == HalfWeights.EXPAND ? HugePageArena.ofShared() : null;
        this.prepare = c.parameters() >= Long.getLong(PREPARE_MIN_PROPERTY, PREPARE_MIN_PARAMETERS);
        try {
            tokenEmbedding = matrix("token_embd.weight", c.dim(), c.vocabSize());
            layers = new Layer[c.layers()];
            for (int l = 0; l < c.layers(); l++) {
                String p = "blk." + l + ".";
                layers[l] = new Layer(
                        vector(p + "attn_norm.weight", c.dim()),
                        matrix(p + "attn_q.weight", c.dim(), c.qDim()),
                        matrix(p + "attn_k.weight", c.dim(), c.kvDim()),
                        matrix(p + "attn_v.weight", c.dim(), c.kvDim()),
                        matrix(p + "attn_output.weight", c.qDim(), c.dim()),
                        c.qkvBias() ? vector(p + "attn_q.bias", c.qDim()) : null,
                        c.qkvBias() ? vector(p + "attn_k.bias", c.kvDim()) : null,
                        c.qkvBias() ? vector(p + "attn_v.bias", c.kvDim()) : null,
                        vector(p + "ffn_norm.weight", c.dim()),
                        matrix(p + "ffn_gate.weight", c.dim(), c.ffnDim()),
                        matrix(p + "ffn_up.weight", c.dim(), c.ffnDim()),
                        matrix(p + "ffn_down.weight", c.ffnDim(), c.dim()));
            }
            outputNorm = vector("output_norm.weight", c.dim());
            output = c.tiedOutput() ? tokenEmbedding : matrix("output.weight", c.dim(), c.vocabSize());
        } catch (GgufException | RuntimeException e) {
            if (expanded != null) expanded.close();
            prepared.close();
            throw e;
        }
        settling = new java.util.ArrayList<>(2);
        for (Arena a : new Arena[]{prepared, expanded}) {
            Thread t = a instanceof HugePageArena h ? h.settle() : null;
            if (t != null) settling.add(t);
        }
        int half2 = c.rope().rotaryDims() / 2;
        ropeInvFreq = new double[half2];
        for (int j = 0; j < half2; j++) ropeInvFreq[j] = Math.pow(c.rope().base(), -2.0 * j / c.rope().rotaryDims());
    }

    /** Loads a model with the preferred kernels; fp16 weights are kept as fp16 (see {@link HalfWeights}). */
    public static Model load(Path path) throws IOException {
        return load(path, Kernels.preferred(), defaultHalfWeights());
    }

    /** Loads a model with the given kernels (tests use the scalar ones). */
    public static Model load(Path path, Kernels kernels, HalfWeights half) throws IOException {
        GgufFile f = GgufFile.open(path);
        try {
            return new Model(f, kernels, half);
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    static HalfWeights defaultHalfWeights() {
        String p = System.getProperty("nq.halfWeights", "keep");
        return "expand".equalsIgnoreCase(p) ? HalfWeights.EXPAND : HalfWeights.KEEP;
    }

    private GgufTensorInfo tensor(String name) throws GgufException {
        GgufTensorInfo t = file.tensor(name);
        if (t == null) throw new GgufException(name, "missing tensor");
        if (!t.type().supported) {
            throw new GgufException(name, "tensor type " + t.type() + " is not supported (supported: "
                    + Arrays.stream(GgmlType.values()).filter(x -> x.supported).map(Enum::name).toList() + ")");
        }
        return t;
    }

    private Weights matrix(String name, int cols, int rows) throws GgufException {
        GgufTensorInfo t = tensor(name);
        long[] d = t.dims();
        boolean ok = d.length >= 2 && d[0] == cols && d[1] == rows;
        for (int i = 2; i < d.length; i++) ok &= d[i] == 1;
        if (!ok) throw new GgufException(name, "shape " + t.shape() + ", expected [" + cols + ", " + rows + "]");
        if ((t.type() == GgmlType.F16 || t.type() == GgmlType.BF16) && expanded != null) {
            MemorySegment f32 = expanded.allocate((long) rows * cols * 4, 64);
            float[] row = new float[cols];
            Weights src = new Weights(name, t.type(), rows, cols, t.data());
            for (int r = 0; r < rows; r++) {
                kernels.dequantizeRows(src, r, 1, row, 0);
                MemorySegment.copy(row, 0, f32, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * cols * 4, cols);
            }
            return new Weights(name, GgmlType.F32, rows, cols, f32);
        }
        Weights w = new Weights(name, t.type(), rows, cols, t.data());
        Weights ready = prepare ? kernels.prepare(w, prepared) : w;
        KernelPrimer.offer(ready); // a process's primer, if one runs, compiles the products over this kind of matrix
        return ready;
    }

    private float[] vector(String name, int n) throws GgufException {
        GgufTensorInfo t = tensor(name);
        long[] d = t.dims();
        boolean ok = d[0] == n;
        for (int i = 1; i < d.length; i++) ok &= d[i] == 1;
        if (!ok) throw new GgufException(name, "shape " + t.shape() + ", expected [" + n + "]");
        if (n % t.type().blockSize != 0) throw new GgufException(name, "length " + n + " does not fit type " + t.type());
        float[] v = new float[n];
        Quants.dequantize(t.type(), t.data(), 0, v, 0, n);
        return v;
    }

    public ModelConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Kernels kernels() {
        return kernels;
    }

    /** The GGUF file the model was read from. */
    public GgufFile gguf() {
        return file;
    }

    public KvLayout kvLayout() {
        return config.kvLayout();
    }

    /** The factory {@link #newSession()} uses: dense fp32 unless changed. */
    public KvCacheFactory kvCacheFactory() {
        return factory.get();
    }

    /** Sets the default KV cache factory (thread-safe) and returns the previous one. */
    public KvCacheFactory setKvCacheFactory(KvCacheFactory f) {
        return factory.getAndSet(Objects.requireNonNull(f, "factory"));
    }

    /** A new session whose KV cache comes from the current default factory. */
    public Session newSession() {
        return newSession(factory.get());
    }

    /** A new session whose KV cache comes from {@code f} (bound to this model first: {@link KvCacheFactory#forModel}). */
    public Session newSession(KvCacheFactory f) {
        return new Session(this, f.forModel(this).create(kvLayout()));
    }

    /**
     * A session over a cache of this model's layout that may already hold tokens at positions
     * {@code 0 .. cache.tokensSeen() - 1} (filled by another session, loaded, or synthesized for a benchmark); it
     * continues at position {@code cache.tokensSeen()}.
     */
    public Session newSession(KvCache cache) {
        return new Session(this, cache);
    }

    /**
     * As {@link #newSession(KvCache)}, for a cache that holds exactly {@code tokens} (positions 0 .. n - 1): the
     * session then knows its token ids ({@link Session#tokens()}) and can be saved.
     */
    public Session newSession(KvCache cache, int[] tokens) {
        return new Session(this, cache, tokens, null);
    }

    /** A builder for a session: {@code model.session().kvCache(KvCompression.balanced()).open()}. */
    public SessionBuilder session() {
        return new SessionBuilder(this);
    }

    /** Options of a new session; {@link #open()} creates it. */
    public static final class SessionBuilder {
        private final Model model;
        private KvCacheFactory factory;

        SessionBuilder(Model model) {
            this.model = model;
            this.factory = model.kvCacheFactory();
        }

        /** The KV cache of the session (default: the model's current default factory). */
        public SessionBuilder kvCache(KvCacheFactory f) {
            this.factory = Objects.requireNonNull(f, "factory");
            return this;
        }

        public Session open() {
            return model.newSession(factory);
        }
    }

    /**
     * Generates text after {@code prompt} with a new session from the default factory: the prompt is run as one
     * prefill, the cache is told {@link Session#endOfPrompt()}, then tokens are sampled one at a time. Stops at EOS,
     * after {@code opts.maxTokens()} tokens, or when the context is full. Prefill time includes the end of prompt
     * (where a compressing cache compresses).
     *
     * @throws PromptTooLongException when the prompt does not fit in the context
     */
    public GenerationResult generate(String prompt, GenerationOptions opts, TokenListener onToken) {
        try (Session s = newSession()) {
            return generate(s, prompt, opts, onToken);
        }
    }

    /**
     * The token ids of a prompt, checked: not empty, and within the context. A text too long for the context by
     * {@link Tokenizer#minTokens} is refused before it is encoded (a 30 MB prompt took minutes and gigabytes).
     *
     * @throws PromptTooLongException when the prompt does not fit in the context
     */
    public int[] encodePrompt(String prompt, boolean addBos) {
        int ctx = config.contextLength();
        long least = tokenizer.minTokens(prompt) + (addBos ? 1 : 0);
        if (least > ctx) throw new PromptTooLongException(least, prompt.length(), ctx);
        int[] ids = tokenizer.encode(prompt, addBos);
        if (ids.length == 0) throw new IllegalArgumentException("the prompt is empty and no BOS token is added");
        if (ids.length > ctx) throw new PromptTooLongException(ids.length, ctx);
        return ids;
    }

    /** Generates with the given (fresh) session. */
    public GenerationResult generate(Session s, String prompt, GenerationOptions opts, TokenListener onToken) {
        return generate(s, prompt, opts, onToken, PrefillListener.NONE);
    }

    /**
     * Generates with the given (fresh) session, telling {@code onPrefill} how far the prompt's prefill has come after
     * each batch of {@link Session#MAX_BATCH} tokens (the batches the session runs anyway, so the results are the same).
     */
    public GenerationResult generate(Session s, String prompt, GenerationOptions opts, TokenListener onToken,
                                     PrefillListener onPrefill) {
        int[] prompt_ = encodePrompt(prompt, opts.addBos());
        long t0 = System.nanoTime();
        float[] logits;
        if (onPrefill == PrefillListener.NONE) {
            logits = s.forward(prompt_, 0, prompt_.length, false);
        } else {
            logits = null;
            s.expectPrompt(s.position() + prompt_.length);
            for (int done = 0; done < prompt_.length; ) {
                int n = Math.min(Session.MAX_BATCH, prompt_.length - done);
                logits = s.forward(prompt_, done, n, false);
                done += n;
                onPrefill.onPrefill(done, prompt_.length);
            }
        }
        s.endOfPrompt(); // a compressing cache compresses the prompt here
        long t1 = System.nanoTime();
        return decode(s, prompt_, logits, opts, onToken, (t1 - t0) / 1e9);
    }

    /**
     * Generates after a session that already holds its prompt (a restored one, or one whose prompt the caller ran and
     * ended with {@link Session#endOfPrompt()}): sampling starts from the logits of its last token. The result's
     * prompt is the session's tokens, its prefill time zero.
     *
     * @throws IllegalStateException when the session has processed no token yet
     */
    public GenerationResult continueFrom(Session s, GenerationOptions opts, TokenListener onToken) {
        float[] logits = s.lastLogits();
        if (logits == null) throw new IllegalStateException("the session holds no token to continue from");
        return decode(s, s.tokens(), logits, opts, onToken, 0);
    }

    /** Samples and runs tokens one at a time from {@code logits} until EOS, the token limit or a full context. */
    private GenerationResult decode(Session s, int[] prompt_, float[] logits, GenerationOptions opts, TokenListener onToken,
                                    double prefillSeconds) {
        int ctx = config.contextLength();
        Sampler sampler = new Sampler(opts.temperature(), opts.topP(), opts.seed());
        StreamDecoder decoder = tokenizer.streamDecoder();
        StringBuilder text = new StringBuilder();
        int[] out = new int[Math.min(opts.maxTokens(), ctx)];
        int count = 0;
        GenerationResult.StopReason reason = GenerationResult.StopReason.MAX_TOKENS;
        long t1 = System.nanoTime();
        int steps = 0;
        int vocab = config.vocabSize();
        while (count < opts.maxTokens()) {
            int next = sampler.sample(logits, 0, vocab);
            if (next == tokenizer.eos()) {
                reason = GenerationResult.StopReason.EOS;
                break;
            }
            if (count == out.length) out = Arrays.copyOf(out, Math.min(2 * out.length + 1, opts.maxTokens()));
            out[count++] = next;
            String piece = decoder.next(next);
            text.append(piece);
            onToken.onToken(next, piece);
            if (count == opts.maxTokens()) break;
            if (s.position() >= ctx) {
                reason = GenerationResult.StopReason.CONTEXT_FULL;
                break;
            }
            logits = s.forward(new int[]{next}, 0, 1, false);
            steps++;
        }
        long t2 = System.nanoTime();
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            text.append(rest);
            onToken.onToken(-1, rest);
        }
        return new GenerationResult(text.toString(), prompt_, Arrays.copyOf(out, count), reason,
                prefillSeconds, (t2 - t1) / 1e9, steps, s.kvCache().stats());
    }

    /** Which model this is, as saved sessions record it (computed once, on first use). */
    public ModelIdentity identity() {
        ModelIdentity id = identity;
        if (id == null) identity = id = ModelIdentity.of(config, file);
        return id;
    }

    /**
     * A session that continues exactly where the saved one stopped (what {@link Session#save} wrote): the same
     * tokens, KV cache and last logits, so that the next forward pass gives the same logits, bit for bit, as the
     * session that never stopped (on the same kernels). The stream must end with the saved session.
     *
     * @throws SessionRestoreException when the data is truncated, damaged, of an unknown version or cache type, or
     *                                 saved from another model (the message names what differs); no session exists then
     */
    public Session restore(InputStream in) throws IOException {
        return restore(in, null);
    }

    /**
     * As {@link #restore(InputStream)}, with the restored cache passed through {@code wrap} before the session is
     * built (a server wraps it in its memory meter, for example).
     */
    public Session restore(InputStream in, UnaryOperator<KvCache> wrap) throws IOException {
        return SessionFile.read(this, in, dev.nexusquant.codec.state.StateContainer.defaultLimit(), wrap);
    }

    /** Restores a session saved in {@code file} (see {@link #restore(InputStream)}). */
    public Session restore(Path file) throws IOException {
        try (InputStream in = openSaved(file)) {
            return restore(in);
        }
    }

    /** Restores a session from the bytes {@link Session#toBytes()} gave (see {@link #restore(InputStream)}). */
    public Session restore(byte[] saved) throws IOException {
        return restore(new ByteArrayInputStream(saved));
    }

    /** Reads only the header of a saved session: whose it is, its cache and its tokens (cheap: no cache is built). */
    public static SavedSession peek(Path file) throws IOException {
        try (InputStream in = openSaved(file)) {
            return SessionFile.peek(in);
        }
    }

    /** A saved session's file for reading; a directory opens on Linux and fails only at the read, as "Is a directory". */
    private static InputStream openSaved(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new java.nio.file.FileSystemException(file.toString(), null, "is a directory, not a saved session");
        return new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    }

    /** Reads only the header of a saved session from bytes. */
    public static SavedSession peek(byte[] saved) throws IOException {
        return SessionFile.peek(new ByteArrayInputStream(saved));
    }

    /** Unmaps the file; sessions of this model cannot be used afterwards. */
    /**
     * Waits until the weights are where decode will keep reading them: the background move onto huge pages after load
     * ({@link HugePageArena}) has ended (at once where there is none). Benchmarks call it so that they time the steady
     * state, as llama.cpp's times its own after loading and rearranging the weights.
     */
    public void awaitWeightsSettled() throws InterruptedException {
        for (Thread t : settling) t.join();
    }

    @Override
    public void close() {
        if (expanded != null) expanded.close();
        prepared.close();
        file.close();
    }

    @Override
    public String toString() {
        return "Model[" + config.architecture().key + " " + config.name() + "]";
    }
}
