package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.kv.KvSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The KV-cache options of the commands that run a model, as a picocli mixin. {@link #factory(Model)} is the one hook
 * the commands call to get the cache of their sessions; without options it is the model's default (dense fp32).
 */
@Command // a mixin: options added here appear on every command that mixes it in
public class KvOptions {

    @Option(names = "--kv", paramLabel = "SPEC",
            description = "KV cache: none (dense fp32), high, balanced, max, or a spec such as 'balanced,evict=snapkv:0.5'"
                    + " or 'k=e8:3,v=e8:2,rot=on' (see the README's KV specs).")
    String kv;

    @Option(names = "--kv-memory", paramLabel = "SIZE",
            description = "Stop with an error before the KV cache would hold more than SIZE (for example 64M, 1.5G).")
    String kvMemory;

    /** The KV cache factory the command's sessions use. */
    public KvCacheFactory factory(Model model) {
        long budget = kvMemory == null ? 0 : KvSpec.parseSize(kvMemory);
        if (kv == null || kv.isBlank() || kv.equalsIgnoreCase("none")) {
            if (budget == 0) return model.kvCacheFactory();
            // a budget needs a cache that counts: the lossless compressed cache with fp16 rows is exactly fp16
            return KvSpec.parse("k=fp16,v=fp16,wprec=f16").withMemoryBudget(budget);
        }
        KvCompression c = KvSpec.parse(kv).forModel(model);
        return budget > 0 ? c.withMemoryBudget(budget) : c;
    }
}
