package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.kv.ForwardingKvCache;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.PromptReplay;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A KV cache that passes every call to the cache it wraps and, while recording, keeps what a replay of the prefill
 * needs ({@link ReplayCall}s): the rows of every append and the last {@code queriesPerCall} queries of every attend.
 * Recording stops by itself at the first call after the prompt ({@link #endOfPrompt}) or when {@link #stopRecording}
 * is called; after that it costs one indirection per call. Everything else goes to the wrapped cache: a session
 * prefilled through a prefix store saves the wrapped cache's state like any other.
 */
final class RecordingKvCache extends ForwardingKvCache {

    private final int layers;
    private final int kvDim;
    private final int qDim;
    private final int queriesPerCall;
    private final List<ReplayCall> calls = new ArrayList<>();
    private ReplayCall current;
    private volatile boolean recording = true;

    RecordingKvCache(KvCache inner, PromptReplay replay) {
        super(inner);
        KvLayout l = inner.layout();
        this.layers = l.layers();
        this.kvDim = l.kvDim();
        this.qDim = l.qDim();
        this.queriesPerCall = replay.queriesPerCall();
    }

    /** The calls recorded so far, in order. */
    List<ReplayCall> calls() {
        return calls;
    }

    void stopRecording() {
        recording = false;
        current = null;
    }

    /** Drops what was recorded (after it was stored). */
    void forget() {
        calls.clear();
    }

    @Override
    public void append(int layer, int n, int[] positions, float[] keys, float[] values) {
        inner.append(layer, n, positions, keys, values);
        if (!recording || n <= 0) return;
        if (layer == 0) {
            int m = Math.min(n, queriesPerCall);
            current = new ReplayCall(positions[0], n, m, new float[layers][], new float[layers][], new float[layers][]);
            for (int i = 1; i < n; i++) {
                if (positions[i] != positions[0] + i) { // a replay rebuilds consecutive positions only
                    stopRecording();
                    calls.clear();
                    return;
                }
            }
            calls.add(current);
        }
        ReplayCall c = current;
        if (c == null || c.n() != n || c.start() != positions[0]) return;
        c.keys()[layer] = Arrays.copyOf(keys, n * kvDim);
        c.values()[layer] = Arrays.copyOf(values, n * kvDim);
        if (c.m() == 0) c.queries()[layer] = new float[0];
    }

    @Override
    public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
        inner.attend(layer, kvHead, n, positions, q, out);
        ReplayCall c = current;
        if (!recording || c == null || c.m() == 0) return;
        synchronized (c) { // heads of one layer may attend concurrently; the queries are the same for all
            if (c.queries()[layer] == null) {
                int m = c.m();
                c.queries()[layer] = Arrays.copyOfRange(q, (n - m) * qDim, n * qDim);
            }
        }
    }

    @Override
    public void endOfPrompt() {
        stopRecording();
        inner.endOfPrompt();
    }

    @Override
    public void close() {
        calls.clear();
        inner.close();
    }
}
