package dev.nexusquant.engine.model;

import dev.nexusquant.engine.kv.RopeSpec;

/** The model architectures the engine runs. */
public enum Architecture {
    /** Llama 2/3, Mistral, TinyLlama, SmolLM: no biases, RoPE on adjacent pairs. */
    LLAMA("llama", RopeSpec.Style.ADJACENT, false),
    /** Qwen2: biases on q, k, v; RoPE on halves (GGML "neox"). */
    QWEN2("qwen2", RopeSpec.Style.HALVES, true);

    /** The value of {@code general.architecture} and the prefix of the architecture's metadata keys. */
    public final String key;
    public final RopeSpec.Style ropeStyle;
    public final boolean qkvBias;

    Architecture(String key, RopeSpec.Style ropeStyle, boolean qkvBias) {
        this.key = key;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
    }

    public static Architecture of(String key) {
        for (Architecture a : values()) if (a.key.equals(key)) return a;
        return null;
    }
}
