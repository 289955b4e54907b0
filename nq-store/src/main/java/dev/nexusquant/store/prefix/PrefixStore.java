package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.PromptReplay;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.ModelIdentity;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStoreException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Shared prompt prefixes through a {@link KvStore}: a prompt is cut into chunks of {@code chunkTokens} tokens
 * ({@link ChunkKeys}); {@link #prefill} finds the longest run of stored chunks from the prompt's start, replays them
 * into a fresh cache, runs only the rest of the prompt through the model, and stores the chunks that were missing.
 * Two prompts that share a system prompt share its chunks; two processes (or machines) pointed at one Redis share
 * them too.
 *
 * <p><b>Results are those of a cold prefill, bit for bit</b> (on the same kernels): an entry holds the calls the
 * forward pass made into the KV cache for its tokens ({@link ChunkEntry}), at the precision the cache holds them
 * ({@link PromptReplay}), and replaying them leaves the cache in the state a prefill leaves. A compressing cache
 * compresses at the end of the prompt, over the whole prompt (eviction votes with the prompt's last queries, the
 * transforms are fitted on all its rows, the bit allocation is chosen per prompt), so a chunk's compressed form
 * depends on what follows it: storing compressed chunks would change results, and is not done. Entries are
 * compressed losslessly instead (byte shuffle + zstd).
 *
 * <p>The store is a cache, never a source of truth: an entry that is damaged, or written for another model, cache or
 * token run, is refused (its check fails) and deleted, and its chunk is prefilled and stored again; a store that
 * cannot be reached is given up for the rest of the call (the prompt is prefilled). The stats say what happened.
 * Chunk sizes are multiples of {@link Session#MAX_BATCH} so that chunks and the forward pass's batches line up.
 */
public final class PrefixStore {

    /** Default chunk size, in tokens. */
    public static final int DEFAULT_CHUNK_TOKENS = 256;

    private final Model model;
    private final KvStore store;
    private final int chunkTokens;
    private final boolean zstd;
    private final String modelIdentity;

    public PrefixStore(Model model, KvStore store) {
        this(model, store, DEFAULT_CHUNK_TOKENS, true);
    }

    /**
     * @param chunkTokens a positive multiple of {@link Session#MAX_BATCH}
     * @param zstd        compress entries losslessly (byte shuffle + zstd)
     */
    public PrefixStore(Model model, KvStore store, int chunkTokens, boolean zstd) {
        if (chunkTokens <= 0 || chunkTokens % Session.MAX_BATCH != 0) {
            throw new IllegalArgumentException("chunk size " + chunkTokens + " is not a positive multiple of " + Session.MAX_BATCH);
        }
        this.model = Objects.requireNonNull(model, "model");
        this.store = Objects.requireNonNull(store, "store");
        this.chunkTokens = chunkTokens;
        this.zstd = zstd;
        this.modelIdentity = identity(model);
    }

    public KvStore store() {
        return store;
    }

    public int chunkTokens() {
        return chunkTokens;
    }

    /**
     * A session that has run {@code tokens}, the logits of the last one, and what the store did. A prefix store holds
     * no state of its own: several threads may prefill through one at once (the stores are thread-safe).
     */
    public record Prefilled(Session session, float[] logits, PrefixStats stats) {
    }

    /**
     * Prefills {@code tokens} (the whole prompt) into a new session whose cache comes from {@code factory}, restoring
     * what the store holds. The session is positioned after the prompt, before {@link Session#endOfPrompt()}: the
     * caller ends the prompt and generates. Chunks are stored before this returns.
     */
    public Prefilled prefill(KvCacheFactory factory, int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("the prompt is empty");
        factory = factory.forModel(model); // settings made from the model (basis=auto) are resolved once here
        KvLayout layout = model.kvLayout();
        ChunkKeys keys = new ChunkKeys(modelIdentity, factory.describe(), chunkTokens);
        List<String> problems = new ArrayList<>();
        long t0 = System.nanoTime();
        KvCache cache = factory.create(layout);
        cache.expectPrompt(tokens.length); // as a session prefilling the whole prompt at once tells it
        PromptReplay replay = cache.promptReplay();
        if (!replay.replayable()) {
            problems.add("the KV cache " + factory.describe() + " cannot be restored from chunks (its prompt state depends on"
                    + " more than rows and recent queries); prefilling without the store");
            Session s = model.newSession(cache);
            long t1 = System.nanoTime();
            float[] logits = s.forward(tokens, 0, tokens.length, false);
            long t2 = System.nanoTime();
            return new Prefilled(s, logits, new PrefixStats(tokens.length, 0, 0, 0, 0, tokens.length, 0, 0, 0,
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9, 0, problems));
        }

        // 1. restore the longest run of stored chunks; a chunk ending at the prompt's end is not restored (its last
        //    token's logits are needed), so at least one token is prefilled
        int restorable = (tokens.length - 1) / chunkTokens;
        int storable = tokens.length / chunkTokens;
        String[] chunkKeys = keys.keys(tokens, storable);
        int hits = 0, misses = 0;
        long bytesRead = 0;
        boolean storeUp = true;
        for (int c = 0; c < restorable; c++) {
            byte[] value;
            try {
                value = store.get(chunkKeys[c]);
            } catch (KvStoreException e) {
                problems.add("lookup of chunk " + c + " failed, prefilling the rest: " + e.getMessage());
                storeUp = e.kind() != KvStoreException.Kind.UNAVAILABLE && e.kind() != KvStoreException.Kind.TIMEOUT
                        && e.kind() != KvStoreException.Kind.DENIED;
                misses++;
                break;
            }
            if (value == null) {
                misses++;
                break;
            }
            List<ReplayCall> calls;
            try {
                calls = ChunkEntry.decode(value, chunkKeys[c], c * chunkTokens,
                        ChunkEntry.slice(tokens, c * chunkTokens, (c + 1) * chunkTokens), layout, replay);
            } catch (KvStoreException e) {
                problems.add(e.getMessage() + "; deleted, recomputing");
                try {
                    store.delete(chunkKeys[c]);
                } catch (KvStoreException ignored) {
                    // the new entry replaces it anyway
                }
                misses++;
                break;
            }
            try {
                replayInto(cache, calls, layout);
            } catch (RuntimeException e) { // e.g. a memory budget: nothing half-restored is used
                problems.add("replaying chunk " + c + " failed, prefilling the whole prompt: " + e);
                cache.close();
                cache = factory.create(layout);
                cache.expectPrompt(tokens.length);
                hits = 0;
                bytesRead = 0;
                break;
            }
            hits++;
            bytesRead += value.length;
        }
        int restored = hits * chunkTokens;

        // 2. prefill the rest, recording what the new chunks need
        RecordingKvCache rec = new RecordingKvCache(cache, replay);
        if (!storeUp || hits == storable) rec.stopRecording(); // nothing will be stored: record nothing
        Session session = model.newSession(rec, ChunkEntry.slice(tokens, 0, restored)); // knows its tokens: it can be saved
        long t1 = System.nanoTime();
        float[] logits = session.forward(tokens, restored, tokens.length - restored, false);
        rec.stopRecording();
        long t2 = System.nanoTime();

        // 3. store the chunks that were not restored
        int stored = 0;
        long bytesWritten = 0;
        if (storeUp) {
            List<ReplayCall> calls = rec.calls();
            int at = 0;
            for (int c = hits; c < storable; c++) {
                int start = c * chunkTokens, end = start + chunkTokens;
                List<ReplayCall> mine = new ArrayList<>();
                while (at < calls.size() && calls.get(at).start() < end) mine.add(calls.get(at++));
                if (mine.isEmpty() || mine.getFirst().start() != start
                        || mine.getLast().start() + mine.getLast().n() != end) {
                    problems.add("chunk " + c + " does not line up with the forward pass's batches; not stored");
                    break;
                }
                try {
                    byte[] value = ChunkEntry.encode(chunkKeys[c], start, ChunkEntry.slice(tokens, start, end), mine,
                            layout, replay, zstd);
                    store.put(chunkKeys[c], value);
                    stored++;
                    bytesWritten += value.length;
                } catch (KvStoreException e) {
                    problems.add("storing chunk " + c + " failed: " + e.getMessage());
                    break;
                }
            }
        }
        rec.forget();
        long t3 = System.nanoTime();
        return new Prefilled(session, logits, new PrefixStats(tokens.length, restorable, hits, misses, restored,
                tokens.length - restored, stored, bytesRead, bytesWritten, (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                (t3 - t2) / 1e9, problems));
    }

    /** Issues the recorded calls again: per batch and layer, the append, then the kept queries for every KV head. */
    static void replayInto(KvCache cache, List<ReplayCall> calls, KvLayout layout) {
        float[] out = null;
        for (ReplayCall c : calls) {
            int[] pos = new int[c.n()];
            for (int i = 0; i < c.n(); i++) pos[i] = c.start() + i;
            int[] tail = java.util.Arrays.copyOfRange(pos, c.n() - c.m(), c.n());
            if (c.m() > 0 && (out == null || out.length < c.m() * layout.qDim())) out = new float[c.m() * layout.qDim()];
            for (int l = 0; l < layout.layers(); l++) {
                cache.append(l, c.n(), pos, c.keys()[l], c.values()[l]);
                if (c.m() > 0) {
                    for (int h = 0; h < layout.kvHeads(); h++) cache.attend(l, h, c.m(), tail, c.queries()[l], out);
                }
            }
        }
    }

    /**
     * What identifies the forward pass that produced an entry: the model's identity (architecture, shapes, a hash of
     * its tensors' metadata and samples of their data) and the kernels (vector and scalar kernels may round apart).
     */
    static String identity(Model model) {
        ModelIdentity id = model.identity();
        return id.architecture() + "|" + id.layers() + "|" + id.dim() + "|" + id.heads() + "|" + id.kvHeads() + "|"
                + id.headDim() + "|" + id.ffnDim() + "|" + id.vocabSize() + "|" + id.contextLength() + "|"
                + id.weightsHex() + "|" + model.kernels().name();
    }
}
