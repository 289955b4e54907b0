package dev.nexusquant.engine.kv;

import dev.nexusquant.codec.state.StateFormatException;
import dev.nexusquant.codec.state.StateInput;

/**
 * Rebuilds a saved {@link KvCache} of one {@link #stateType()}: the service through which a restore finds the reader
 * of a cache implemented outside the engine ({@link java.util.ServiceLoader}; register the implementation in
 * {@code META-INF/services/dev.nexusquant.engine.kv.KvCacheReader}; it needs a public no-argument constructor).
 * The engine reads its own dense cache without one.
 */
public interface KvCacheReader {

    /** The {@link KvCache#stateType()} this reader reads. */
    String stateType();

    /**
     * Reads what {@link KvCache#writeState} wrote into a new cache of {@code layout}. Whatever the bytes, the result
     * is a complete cache or a {@link StateFormatException} naming the field (never a half-built cache, never
     * another exception): the caller checked a CRC, but the bytes may still come from a hostile writer.
     *
     * @param settings what {@link KvCache#settings()} returned when the cache was saved
     */
    KvCache read(KvLayout layout, String settings, StateInput in) throws StateFormatException;

    /**
     * Reads a saved cache for {@code model} (what a session restore calls): as {@link #read(KvLayout, String, StateInput)}
     * with the model's layout, for caches whose settings need nothing else; a cache whose settings name data made
     * from the model (a compressed cache's per-model bases) finds or makes that data here and checks that it is the
     * data the state was coded with ({@link StateFormatException.Problem#FOREIGN_SHARED_DATA} when it is not).
     */
    default KvCache read(dev.nexusquant.engine.model.Model model, String settings, StateInput in) throws StateFormatException {
        return read(model.kvLayout(), settings, in);
    }
}
