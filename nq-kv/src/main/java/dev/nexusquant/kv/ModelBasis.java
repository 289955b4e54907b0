package dev.nexusquant.kv;

import dev.nexusquant.codec.klt.HouseholderBasis;
import dev.nexusquant.codec.klt.KltBasis;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tensor.Parallel;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * KLT bases shared by every prompt of one model ({@code rot=klt,basis=FILE}), fitted once from the rows the model
 * produces from text it samples itself from BOS: no calibration data. Stored beside the model (its size reported
 * separately, as weights are) and not counted in a cache's bytes. Per (layer, KV head) one basis for keys (in the key
 * domain the file says: with RoPE undone or as appended) and one for values, each from rows centred by the sample's
 * mean and keeping every direction with a variance ({@link KltBasis#fit} with rows = 0).
 *
 * <p>File: magic {@code NQKLT1}, u8 keys pre-RoPE, int layers, kvHeads, headDim, int sampled tokens, long seed, then
 * per (layer, KV head) keys then values: int groups, int reserve (0), [groups] fp32 deviations, fp16 reflectors.
 *
 * @param bases [layers][kvHeads][2] keys, values
 */
public record ModelBasis(boolean preRope, int layers, int kvHeads, int headDim, int tokens, long seed, KltBasis[][][] bases) {

    private static final byte[] MAGIC = {'N', 'Q', 'K', 'L', 'T', '1'};
    private static final ConcurrentHashMap<Path, ModelBasis> LOADED = new ConcurrentHashMap<>();
    /** Fingerprints by instance (a record of arrays: equal only to itself). */
    private static final java.util.Map<ModelBasis, Long> FINGERPRINTS = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    public KltBasis keys(int layer, int kvHead) {
        return bases[layer][kvHead][0];
    }

    public KltBasis values(int layer, int kvHead) {
        return bases[layer][kvHead][1];
    }

    /**
     * What identifies these bases: the first 8 bytes of the SHA-256 of their file form (computed once per instance). A
     * saved cache records it, so that a restore can tell whether the bases it finds are those the rows were coded with.
     */
    public long fingerprint() {
        return FINGERPRINTS.computeIfAbsent(this, b -> {
            try {
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                try (OutputStream o = new java.security.DigestOutputStream(OutputStream.nullOutputStream(), sha)) {
                    b.write(o);
                }
                return java.nio.ByteBuffer.wrap(sha.digest()).getLong();
            } catch (IOException | java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("fingerprint of a KLT basis: " + e, e);
            }
        });
    }

    /** Bytes of the bases (fp16 reflectors, fp32 deviations), what the file adds beside the model. */
    public long bytes() {
        long b = 0;
        for (KltBasis[][] l : bases) for (KltBasis[] h : l) b += h[0].bytes() + h[1].bytes();
        return b;
    }

    /** Keeps what a session appends (rows of every layer), over a dense cache that attends. */
    static final class Rows implements KvCache {
        final DenseKvCache dense;
        final int tokens;
        final float[][] keys, values; // [layers][tokens * kvDim]

        Rows(KvLayout layout, int tokens) {
            this.tokens = tokens;
            dense = new DenseKvCache(layout, DenseKvCache.Precision.FP32);
            keys = new float[layout.layers()][tokens * layout.kvDim()];
            values = new float[layout.layers()][tokens * layout.kvDim()];
        }

        @Override
        public KvLayout layout() {
            return dense.layout();
        }

        @Override
        public void append(int layer, int n, int[] positions, float[] k, float[] v) {
            int d = dense.layout().kvDim();
            for (int i = 0; i < n; i++) {
                System.arraycopy(k, i * d, keys[layer], positions[i] * d, d);
                System.arraycopy(v, i * d, values[layer], positions[i] * d, d);
            }
            dense.append(layer, n, positions, k, v);
        }

        @Override
        public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
            dense.attend(layer, kvHead, n, positions, q, out);
        }

        @Override
        public long tokensSeen() {
            return dense.tokensSeen();
        }

        @Override
        public KvStats stats() {
            return dense.stats();
        }
    }

    /**
     * Samples {@code tokens} tokens from BOS (temperature 1, seeded) and fits the bases from the rows the model produced.
     *
     * @param preRope fit the key bases with RoPE undone (for {@code keys=pre}) or on keys as appended
     */
    public static ModelBasis fit(Model model, int tokens, long seed, boolean preRope) {
        return fit(model.kvLayout(), sample(model, tokens, seed), seed, preRope);
    }

    /**
     * The rows the model appends while it samples {@code tokens} tokens from BOS (temperature 1, seeded): the first
     * half of {@link #fit(Model, int, long, boolean)}, one token at a time (what takes most of the time).
     */
    static Rows sample(Model model, int tokens, long seed) {
        KvLayout layout = model.kvLayout();
        if (tokens < 2 || tokens > layout.contextLength()) {
            throw new IllegalArgumentException("sampled tokens must be in 2.." + layout.contextLength() + ": " + tokens);
        }
        if (layout.headDim() % 8 != 0) throw new IllegalArgumentException("KLT bases need head_dim a multiple of 8: " + layout.headDim());
        Rows rows = new Rows(layout, tokens);
        try (Session s = model.newSession(rows)) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int[] t = new int[tokens];
            t[0] = model.tokenizer().bos();
            for (int i = 0; i < tokens - 1; i++) t[i + 1] = sample(s.forward(t, i, 1, false), rnd);
            s.forward(t, tokens - 1, 1, false);
        }
        return rows;
    }

    /**
     * The second half of {@link #fit(Model, int, long, boolean)}: one key and one value basis per layer and KV head
     * from the sampled rows, the heads fitted in parallel ({@link Parallel}: each fit is independent and
     * deterministic, so the bases do not depend on the threads).
     */
    static ModelBasis fit(KvLayout layout, Rows rows, long seed, boolean preRope) {
        int tokens = rows.tokens;
        int dim = layout.headDim(), kvDim = layout.kvDim(), kvHeads = layout.kvHeads();
        PositionalRotation rope = preRope ? Transforms.rope(layout) : null;
        KltBasis[][][] b = new KltBasis[layout.layers()][kvHeads][2];
        Parallel.run(2 * layout.layers() * kvHeads, task -> {
            int l = task / (2 * kvHeads), h = (task / 2) % kvHeads, kv = task % 2;
            float[] x = new float[tokens * dim];
            float[][] src = kv == 0 ? rows.keys : rows.values;
            for (int i = 0; i < tokens; i++) {
                System.arraycopy(src[l], i * kvDim + h * dim, x, i * dim, dim);
                if (kv == 0 && rope != null) rope.inverse(x, i * dim, i);
            }
            b[l][h][kv] = KltBasis.fit(centred(x, tokens, dim), tokens, dim, 0, 0);
        });
        return new ModelBasis(preRope, layout.layers(), layout.kvHeads(), dim, tokens, seed, b);
    }

    private static int sample(float[] logits, SplittableRandom rnd) {
        double mx = Double.NEGATIVE_INFINITY;
        for (float x : logits) mx = Math.max(mx, x);
        double z = 0;
        for (float x : logits) z += Math.exp(x - mx);
        double u = rnd.nextDouble() * z;
        for (int i = 0; i < logits.length; i++) {
            u -= Math.exp(logits[i] - mx);
            if (u <= 0) return i;
        }
        return logits.length - 1;
    }

    private static float[] centred(float[] x, int n, int dim) {
        double[] mean = new double[dim];
        for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) mean[i] += x[t * dim + i];
        float[] c = x.clone();
        for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) c[t * dim + i] -= (float) (mean[i] / n);
        return c;
    }

    public void write(Path file) throws IOException {
        try (OutputStream o = Files.newOutputStream(file)) {
            write(o);
        }
    }

    public void write(OutputStream o) throws IOException {
        DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(o));
        out.write(MAGIC);
        out.writeByte(preRope ? 1 : 0);
        out.writeInt(layers);
        out.writeInt(kvHeads);
        out.writeInt(headDim);
        out.writeInt(tokens);
        out.writeLong(seed);
        for (KltBasis[][] l : bases) {
            for (KltBasis[] h : l) {
                for (KltBasis b : h) {
                    float[] s = b.sigmas();
                    short[] r = b.stored();
                    out.writeInt(s.length);
                    out.writeInt(b.reserve());
                    for (float x : s) out.writeFloat(x);
                    for (short x : r) out.writeShort(x);
                }
            }
        }
        out.flush();
    }

    /** Reads a basis file; IOException naming what is wrong. */
    public static ModelBasis read(InputStream in0) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(in0));
        try {
            byte[] m = new byte[MAGIC.length];
            in.readFully(m);
            if (!java.util.Arrays.equals(m, MAGIC)) throw new IOException("not a KLT basis file (magic " + new String(m, java.nio.charset.StandardCharsets.ISO_8859_1) + ")");
            boolean pre = in.readUnsignedByte() == 1;
            int layers = in.readInt(), heads = in.readInt(), dim = in.readInt(), tokens = in.readInt();
            long seed = in.readLong();
            if (layers <= 0 || layers > 1 << 12 || heads <= 0 || heads > 1 << 12 || dim <= 0 || dim % 8 != 0 || dim > 1 << 12) {
                throw new IOException("KLT basis file: bad shape " + layers + " layers, " + heads + " KV heads, head_dim " + dim);
            }
            KltBasis[][][] b = new KltBasis[layers][heads][2];
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    for (int w = 0; w < 2; w++) {
                        int groups = in.readInt(), reserve = in.readInt();
                        if (groups < 0 || groups > dim / 8) throw new IOException("KLT basis file: layer " + l + " head " + h + ": " + groups + " groups");
                        float[] s = new float[groups];
                        for (int g = 0; g < groups; g++) s[g] = in.readFloat();
                        short[] r = new short[HouseholderBasis.storedValues(dim, 8 * groups)];
                        for (int i = 0; i < r.length; i++) r[i] = in.readShort();
                        try {
                            b[l][h][w] = KltBasis.restore(dim, r, s, reserve);
                        } catch (IllegalArgumentException e) {
                            throw new IOException("KLT basis file: layer " + l + " head " + h + ": " + e.getMessage(), e);
                        }
                    }
                }
            }
            if (in.read() != -1) throw new IOException("KLT basis file: bytes after the last basis");
            return new ModelBasis(pre, layers, heads, dim, tokens, seed, b);
        } catch (EOFException e) {
            throw new IOException("KLT basis file: truncated", e);
        }
    }

    /** The basis file at {@code path}, read once per process (IllegalArgumentException naming the problem). */
    public static ModelBasis load(String path) {
        Path p = Path.of(path).toAbsolutePath().normalize();
        return LOADED.computeIfAbsent(p, q -> {
            try (InputStream in = Files.newInputStream(q)) {
                return read(in);
            } catch (IOException e) {
                String why = e instanceof NoSuchFileException ? "no such file"
                        : e instanceof AccessDeniedException ? "not readable" : e.getMessage();
                throw new IllegalArgumentException("KLT basis file " + q + ": " + why, e);
            }
        });
    }

    /** Checks that the bases fit a cache of this layout and key domain. */
    void check(KvLayout layout, boolean keysPreRope) {
        if (layers != layout.layers() || kvHeads != layout.kvHeads() || headDim != layout.headDim()) {
            throw new IllegalArgumentException("KLT basis is for " + layers + " layers x " + kvHeads + " KV heads x head_dim " + headDim
                    + ", the model has " + layout.layers() + " x " + layout.kvHeads() + " x " + layout.headDim());
        }
        if (preRope != keysPreRope) {
            throw new IllegalArgumentException("KLT basis was fitted for keys=" + (preRope ? "pre" : "post") + ", the settings have keys="
                    + (keysPreRope ? "pre" : "post"));
        }
    }
}
