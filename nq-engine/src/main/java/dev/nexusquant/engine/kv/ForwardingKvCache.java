package dev.nexusquant.engine.kv;

import dev.nexusquant.codec.state.StateOutput;

import java.util.Objects;

/**
 * A KV cache that passes every call to the cache it wraps. Wrappers that meter, record or observe a cache extend it
 * and override only what they add, so a method added to {@link KvCache} later reaches the wrapped cache without each
 * wrapper having to learn about it ({@code ForwardingKvCacheTest} checks that every method of the interface is
 * forwarded here).
 */
public abstract class ForwardingKvCache implements KvCache {

    protected final KvCache inner;

    protected ForwardingKvCache(KvCache inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    /** The wrapped cache. */
    public KvCache inner() {
        return inner;
    }

    @Override
    public KvLayout layout() {
        return inner.layout();
    }

    @Override
    public void append(int layer, int n, int[] positions, float[] keys, float[] values) {
        inner.append(layer, n, positions, keys, values);
    }

    @Override
    public void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out) {
        inner.attend(layer, kvHead, n, positions, q, out);
    }

    @Override
    public void endOfPrompt() {
        inner.endOfPrompt();
    }

    @Override
    public void freeze() {
        inner.freeze();
    }

    @Override
    public String allocation() {
        return inner.allocation();
    }

    @Override
    public int maxAppend() {
        return inner.maxAppend();
    }

    @Override
    public void expectPrompt(long tokens) {
        inner.expectPrompt(tokens);
    }

    @Override
    public PromptReplay promptReplay() {
        return inner.promptReplay();
    }

    @Override
    public long tokensSeen() {
        return inner.tokensSeen();
    }

    @Override
    public KvStats stats() {
        return inner.stats();
    }

    @Override
    public String stateType() {
        return inner.stateType();
    }

    @Override
    public String settings() {
        return inner.settings();
    }

    @Override
    public void writeState(StateOutput out) {
        inner.writeState(out);
    }

    @Override
    public void close() {
        inner.close();
    }
}
