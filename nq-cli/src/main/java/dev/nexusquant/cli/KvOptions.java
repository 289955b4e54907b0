package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import picocli.CommandLine.Command;

/**
 * The KV-cache options of the commands that run a model ({@code generate}, {@code perplexity}), as a picocli mixin:
 * the place where {@code --kv} and {@code --kv-memory} go. {@link #factory(Model)} is the one hook the commands call to
 * get the cache of their sessions; without options it is the model's default (dense fp32).
 */
@Command // a mixin: options added here appear on every command that mixes it in
public class KvOptions {

    /** The KV cache factory the command's sessions use. */
    public KvCacheFactory factory(Model model) {
        return model.kvCacheFactory();
    }
}
