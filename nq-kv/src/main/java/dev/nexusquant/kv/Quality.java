package dev.nexusquant.kv;

/**
 * The three presets. Their settings are chosen from a measured sweep on development text (see BENCHMARKS.md,
 * "Choosing the presets", for the sweep and the command that reproduces it).
 */
public enum Quality {
    /** About 10x smaller than fp16. */
    HIGH,
    /** About 17x smaller than fp16. */
    BALANCED,
    /** About 33x smaller than fp16. */
    MAX;

    /** The configuration of this preset. */
    public KvCompression config() {
        return Presets.of(this);
    }
}
