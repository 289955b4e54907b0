package dev.nexusquant.kv;

import dev.nexusquant.codec.state.StateFormatException;
import dev.nexusquant.codec.state.StateInput;
import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheReader;
import dev.nexusquant.engine.kv.KvLayout;

/**
 * Reads the saved state of NexusQuant's compressed cache ({@code stateType "nexusquant"}); registered as a
 * {@link KvCacheReader} service, so that {@code Model.restore} finds it whenever nq-kv is on the class path.
 */
public final class CompressedKvCacheReader implements KvCacheReader {

    @Override
    public String stateType() {
        return CacheState.TYPE;
    }

    @Override
    public KvCache read(KvLayout layout, String settings, StateInput in) throws StateFormatException {
        return CacheState.read(layout, settings, in);
    }

    /**
     * Reads a state saved with {@code basis=auto}: the model's own bases are found in the basis cache (or fitted there,
     * as the first cache with these settings does) and must be those the state was coded with (its fingerprint;
     * {@link StateFormatException.Problem#FOREIGN_SHARED_DATA} naming both when they differ).
     */
    @Override
    public KvCache read(dev.nexusquant.engine.model.Model model, String settings, StateInput in) throws StateFormatException {
        return CacheState.read(model.kvLayout(), CacheState.settings(settings).forModel(model), in);
    }
}
