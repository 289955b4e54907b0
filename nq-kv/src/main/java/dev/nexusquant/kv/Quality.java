package dev.nexusquant.kv;

/**
 * The three presets. Their settings are chosen from a measured sweep on development text (see BENCHMARKS.md,
 * "Choosing the presets", for the sweep and the command that reproduces it).
 */
public enum Quality {
    /** 10x smaller than fp16 at the end of the prompt (a byte budget the allocator spends per prompt). */
    HIGH,
    /** 17x smaller than fp16 at the end of the prompt. */
    BALANCED,
    /** 33x smaller than fp16 at the end of the prompt. */
    MAX;

    /** The configuration of this preset. */
    public KvCompression config() {
        return Presets.of(this);
    }
}
