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
}
