package dev.nexusquant.kv;

/**
 * The settings behind {@link Quality}, as {@code --kv} specs. Each preset is the configuration of the sweep in
 * BENCHMARKS.md ("Choosing the presets") with the best perplexity on the development chunks among those that reach its
 * compression ratio; the report on other chunks is there too.
 */
final class Presets {

    private Presets() {
    }

    /** Shared by all presets: fp16 recent window of 16 (+ a block of 16), Hadamard rotation, centred keys and values. */
    static final String COMMON = ",window=16,block=16,wprec=f16,rot=on,center=kv,sinks=4";

    /** 11.1x at +9.3% on the development chunks of the reference model (sweep s11 in BENCHMARKS.md). */
    static final String HIGH = "k=e8:4,v=e8:3,age=128,ak=e8:2,av=e8:2,boost=2,evict=snapkv:0.4" + COMMON;
    /** 17.3x at +21.5% on the development chunks of the reference model. */
    static final String BALANCED = "k=e8:4,v=e8:3,age=64,ak=e8:3,av=e8:2,boost=1,evict=snapkv:0.2" + COMMON;
    /** 37.0x at +52% on the development chunks of the reference model (window 8, blocks of 8). */
    static final String MAX = "k=e8:4,v=e8:3,age=32,ak=e8:2,av=e8:1,boost=1,evict=snapkv:0.1"
            + ",window=8,block=8,wprec=f16,rot=on,center=kv,sinks=4";

    static KvCompression of(Quality q) {
        return KvSpec.parse(switch (q) {
            case HIGH -> HIGH;
            case BALANCED -> BALANCED;
            case MAX -> MAX;
        });
    }
}
