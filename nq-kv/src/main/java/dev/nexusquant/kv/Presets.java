package dev.nexusquant.kv;

/**
 * The settings behind {@link Quality}, as {@code --kv} specs. Each preset is a byte budget ({@code ratio=R}) that the
 * {@link BudgetAllocator} spends per prompt, with a young zone ({@code age=A}: rows younger than A kept whole at the
 * young codecs, then cut and re-coded by each head's plan) and a full-precision window. The young zone, its codecs,
 * the window and the block size were chosen on the development chunks (chunk index % 5 == 0) of nq-ref-27m and of
 * the project's model together, as the lowest streaming cost (mean of the two models) among the settings whose
 * context cost (mean of the two) was within the goal or within 0.25 points of the best; BENCHMARKS.md ("Presets
 * with a byte budget") has the sweep, the rule and the report on the report chunks (index % 5 == 2).
 */
final class Presets {

    private Presets() {
    }

    /**
     * Shared by all presets: expected attention ranking at the prompt's end (the last 256 queries' statistics carried
     * forward), rows that age cut by their values' norms (no attention recorded for young rows), Hadamard rotation,
     * centred keys and values. Both replaced SnapKV ranking and attention-ranked aging after the development chunks
     * of both models, under both protocols, by the rule below; 256 queries replaced 64 the same way at every preset
     * (mean of the two models' 16 development chunks, streaming / context: MAX +14.12 / +2.56% -> +12.14 / +2.04%,
     * BALANCED +4.48 / +1.23% -> +3.56 / +1.09%, HIGH +1.82 / +0.64% -> +1.38 / +0.49%) for +20-25% prefill CPU, and
     * 1,024 replaced 256 at all three (each preset names its own {@code obs}). Under a tight memory budget the
     * rings hold fewer ({@link PromptQueryRing#slots}).
     */
    static final String COMMON = ",evict=expected:0.5,agerank=vnorm,wprec=f16,rot=on,center=kv,sinks=4,ak=e8:2,av=e8:1";

    /**
     * 10x: young rows (192) at E8 4/3 bits, no fp16 window (rows wait in fp16 only until a block of 16 is full: the
     * 16-row window held 16 to 32 fp16 rows during generation, a quarter of a head's budget at 17x). Ranked by the
     * prompt's last 1,024 queries (dev chunks of both models, mean, streaming / context: +1.38 / +0.49% with 256,
     * +1.29 / +0.41% with 1,024; blocks of 4 and young zones of 128 or 256 rows lost under streaming).
     */
    static final String HIGH = "k=e8:4,v=e8:3,window=0,age=192,block=16" + COMMON + ",obs=1024,ratio=10";
    /**
     * 17x: young rows (128) at E8 4/3 bits, no fp16 window, blocks of 4: the budget counts the fp16 staging block
     * that generation fills (block rows), and 4 rows instead of 16 leave the plan 12 more rows' worth of bytes. Ranked
     * by the prompt's last 1,024 queries (dev chunks of both models, mean, streaming / context: +3.56 / +1.09% with
     * 256, +3.32 / +0.87% with 1,024), summed through their covariance ({@code ExpectedAttentionEviction}). The
     * allocator measures each head's options against the prompt's last 64 queries instead of 16 ({@code planq=64}:
     * +3.32 / +0.87% -> +2.80 / +0.69%; at MAX it lost on the project model's dev chunks, at HIGH a tie).
     */
    static final String BALANCED = "k=e8:4,v=e8:3,window=0,age=128,block=4" + COMMON + ",obs=1024,ratio=17,planq=64";
    /**
     * 33x: young rows (64) at E8 3/2 bits, no fp16 window, blocks of 4 (16 staged fp16 rows took 4 KB of a 7.9 KB
     * head budget on nq-ref-27m). Ranked by the prompt's last 1,024 queries (dev chunks of both models, mean,
     * streaming / context: +12.14 / +2.04% with 256, +11.04 / +1.58% with 1,024).
     */
    static final String MAX = "k=e8:3,v=e8:2,window=0,age=64,block=4" + COMMON + ",obs=1024,ratio=33";

    static KvCompression of(Quality q) {
        return KvSpec.parse(switch (q) {
            case HIGH -> HIGH;
            case BALANCED -> BALANCED;
            case MAX -> MAX;
        });
    }
}
