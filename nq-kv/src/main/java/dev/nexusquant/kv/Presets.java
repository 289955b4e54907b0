package dev.nexusquant.kv;

/**
 * The settings behind {@link Quality}, as {@code --kv} specs. Each preset is the configuration of the sweep in
 * BENCHMARKS.md ("Choosing the presets") with the best perplexity on the development chunks among those that reach its
 * compression ratio; the report on other chunks is there too.
 */
final class Presets {

    private Presets() {
    }

    /** Shared by all presets: fp16 recent window, blocks of 32, Hadamard rotation, centred keys and values. */
    static final String COMMON = ",block=32,wprec=f16,rot=on,center=kv";

    static final String HIGH = "k=e8:4,v=e8:4,age=224,ak=e8:2,av=e8:1,boost=1,evict=snapkv:0.5,sinks=4,window=32" + COMMON;
    static final String BALANCED = "k=e8:4,v=e8:3,age=128,ak=e8:2,av=e8:1,boost=1,evict=snapkv:0.35,sinks=4,window=16" + COMMON;
    static final String MAX = "k=e8:3,v=e8:2,age=64,ak=e8:1,av=e8:1,boost=1,evict=snapkv:0.25,sinks=4,window=16" + COMMON;

    static KvCompression of(Quality q) {
        return KvSpec.parse(switch (q) {
            case HIGH -> HIGH;
            case BALANCED -> BALANCED;
            case MAX -> MAX;
        });
    }
}
