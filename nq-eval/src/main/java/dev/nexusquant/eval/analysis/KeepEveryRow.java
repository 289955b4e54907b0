package dev.nexusquant.eval.analysis;

import dev.nexusquant.kv.eviction.DelegatingPolicy;
import dev.nexusquant.kv.eviction.EvictionPolicy;

/**
 * An analysis, not a policy to offer: the base policy's settings (the byte budget's plans, and so their codecs, are
 * made as with it), but the cache drops no row, at the prompt's end or when rows age: what the codes alone cost.
 * The ratio is then far below the target.
 */
public record KeepEveryRow(EvictionPolicy base) implements DelegatingPolicy {

    public KeepEveryRow {
        DelegatingPolicy.scoring(base, "keeping every row");
    }

    @Override
    public boolean keepsEveryRow() {
        return true;
    }

    @Override
    public String spec() {
        return base.spec() + ",analysis=codes";
    }
}
