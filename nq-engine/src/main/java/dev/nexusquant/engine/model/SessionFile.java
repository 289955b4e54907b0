package dev.nexusquant.engine.model;

import dev.nexusquant.codec.state.StateContainer;
import dev.nexusquant.codec.state.StateFormatException;
import dev.nexusquant.codec.state.StateInput;
import dev.nexusquant.codec.state.StateOutput;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheReader;
import dev.nexusquant.engine.kv.KvCacheReaders;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.UnaryOperator;

/**
 * The layout of a saved session inside a {@link StateContainer}.
 * <pre>
 *   header:  u8 version 1, model identity (architecture, 8 shape varints, 32-byte weights hash),
 *            cache state type, cache settings, token count, token ids (varints)
 *   payload: u8 version 1, flag + [vocab] fp32 logits of the last token (if any), the cache's own state
 * </pre>
 * Reading maps every format problem to a {@link SessionRestoreException} of the right kind, and builds the session
 * only once everything has been read and checked.
 */
final class SessionFile {

    static final int HEADER_VERSION = 1;
    static final int PAYLOAD_VERSION = 2; // 2: the dense cache's rows per layer, fp32 byte-shuffled
    private static final int MAX_NAME = 1 << 16;

    private SessionFile() {
    }

    static long write(Session s, OutputStream out, boolean compress) throws IOException {
        byte[][] parts = encode(s);
        return StateContainer.write(out, parts[0], parts[1], compress);
    }

    /** [0] header, [1] payload. */
    static byte[][] encode(Session s) {
        KvCache cache = s.kvCache();
        if (cache.stateType() == null) {
            throw new UnsupportedOperationException("this session's KV cache (" + cache.getClass().getSimpleName() + ") cannot be saved");
        }
        int[] tokens = s.tokens();
        StateOutput h = new StateOutput(256 + 3 * tokens.length);
        h.u8(HEADER_VERSION);
        writeIdentity(h, s.model().identity());
        h.string(cache.stateType());
        h.string(cache.settings());
        h.varint(tokens.length);
        h.varints(tokens, 0, tokens.length);
        StateOutput p = new StateOutput(1 << 16);
        p.u8(PAYLOAD_VERSION);
        float[] logits = s.lastLogitsRef();
        p.bool(logits != null);
        if (logits != null) {
            p.varint(logits.length);
            p.floats(logits, 0, logits.length);
        }
        cache.writeState(p);
        return new byte[][]{h.toByteArray(), p.toByteArray()};
    }

    private static void writeIdentity(StateOutput h, ModelIdentity m) {
        h.string(m.architecture());
        for (int v : new int[]{m.layers(), m.dim(), m.heads(), m.kvHeads(), m.headDim(), m.ffnDim(), m.vocabSize(), m.contextLength()}) {
            h.varint(v);
        }
        byte[] w = m.weights();
        h.raw(w, 0, w.length);
    }

    static SavedSession peek(InputStream in) throws IOException {
        try {
            return parseHeader(StateContainer.readHeader(in));
        } catch (StateFormatException e) {
            throw map(e);
        }
    }

    static SavedSession parseHeader(byte[] header) throws StateFormatException {
        StateInput h = new StateInput(header, 0);
        int version = h.u8("header.version");
        if (version != HEADER_VERSION) {
            throw new StateFormatException(StateFormatException.Problem.UNSUPPORTED_VERSION, "header.version",
                    "session header version " + version + " is not supported (this reader reads " + HEADER_VERSION + ")");
        }
        String arch = h.string("model.architecture", 256);
        int[] shape = new int[8];
        String[] names = {"layers", "dim", "heads", "kvHeads", "headDim", "ffnDim", "vocabSize", "contextLength"};
        for (int i = 0; i < 8; i++) shape[i] = h.varint("model." + names[i], 1, Integer.MAX_VALUE);
        byte[] weights = h.raw("model.weights", 32);
        ModelIdentity id = new ModelIdentity(arch, shape[0], shape[1], shape[2], shape[3], shape[4], shape[5], shape[6], shape[7], weights);
        String type = h.string("cache.type", MAX_NAME);
        String settings = h.string("cache.settings", MAX_NAME);
        int n = h.count("tokens.count", Integer.MAX_VALUE - 16, 1);
        int[] tokens = h.varints("tokens", n, shape[6] - 1);
        h.expectEnd("header");
        return new SavedSession(id, type, settings, tokens);
    }

    /** Reads, checks and rebuilds a saved session; nothing is built unless everything is right. */
    static Session read(Model model, InputStream in, long limit, UnaryOperator<KvCache> wrap) throws IOException {
        StateContainer.Contents c;
        SavedSession info;
        try {
            c = StateContainer.read(in, limit);
            info = parseHeader(c.header());
        } catch (StateFormatException e) {
            throw map(e);
        }
        String diff = info.model().differences(model.identity());
        if (!diff.isEmpty()) {
            throw new SessionRestoreException(SessionRestoreException.Kind.FOREIGN_MODEL,
                    "the session was saved from another model (saved vs this one: " + diff + ")");
        }
        KvCacheReader reader = KvCacheReaders.find(info.cacheType());
        if (reader == null) {
            throw new SessionRestoreException(SessionRestoreException.Kind.UNKNOWN_CACHE_TYPE, "no reader for KV cache state '"
                    + info.cacheType() + "' (known: " + KvCacheReaders.known() + "; a compressed cache needs nq-kv on the class path)");
        }
        KvCache cache = null;
        float[] logits = null;
        try {
            StateInput p = new StateInput(c.payload(), limit);
            int version = p.u8("payload.version");
            if (version != PAYLOAD_VERSION) {
                throw new StateFormatException(StateFormatException.Problem.UNSUPPORTED_VERSION, "payload.version",
                        "session payload version " + version + " is not supported (this reader reads " + PAYLOAD_VERSION + ")");
            }
            if (p.bool("logits.present")) {
                int vocab = p.varint("logits.count", 0, Integer.MAX_VALUE);
                if (vocab != model.config().vocabSize()) throw StateInput.corrupt("logits.count", vocab + " logits, the vocabulary has " + model.config().vocabSize());
                logits = p.floats("logits", vocab);
            }
            cache = reader.read(model, info.cacheSettings(), p);
            p.expectEnd("payload");
            if (cache.tokensSeen() != info.tokens().length) {
                throw StateInput.corrupt("cache.tokensSeen", "the cache holds " + cache.tokensSeen() + " tokens, the header names "
                        + info.tokens().length);
            }
            if (!cache.layout().equals(model.kvLayout())) throw StateInput.corrupt("cache.layout", "does not match the model's");
            if (!cache.settings().equals(info.cacheSettings())) {
                throw StateInput.corrupt("cache.settings", "'" + cache.settings() + "' does not match the header's '" + info.cacheSettings() + "'");
            }
        } catch (StateFormatException e) {
            if (cache != null) cache.close();
            throw map(e);
        } catch (RuntimeException e) { // a reader's constructor refusing a value: still a damaged file
            if (cache != null) cache.close();
            throw new SessionRestoreException(SessionRestoreException.Kind.CORRUPT, "cache state: " + e, e);
        }
        try {
            KvCache used = wrap == null ? cache : wrap.apply(cache);
            return new Session(model, used, info.tokens(), logits);
        } catch (RuntimeException | Error e) {
            cache.close();
            throw e;
        }
    }

    static SessionRestoreException map(StateFormatException e) {
        SessionRestoreException.Kind k = switch (e.problem()) {
            case TRUNCATED -> SessionRestoreException.Kind.TRUNCATED;
            case CORRUPT -> SessionRestoreException.Kind.CORRUPT;
            case UNSUPPORTED_VERSION -> SessionRestoreException.Kind.UNSUPPORTED_VERSION;
            case TOO_LARGE -> SessionRestoreException.Kind.TOO_LARGE;
            case FOREIGN_SHARED_DATA -> SessionRestoreException.Kind.FOREIGN_BASIS;
        };
        return new SessionRestoreException(k, e.getMessage(), e);
    }
}
