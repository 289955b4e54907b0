package dev.nexusquant.eval.bench;

import dev.nexusquant.engine.kv.KvCacheFactory;

/**
 * One cache setting in a benchmark.
 *
 * @param family  the method it belongs to (the colour in the picture), e.g. "KIVI" or "NexusQuant"
 * @param label   the setting, e.g. "2-bit" or "balanced"
 * @param factory the caches it uses (null = the model's default, dense fp32)
 */
public record Method(String family, String label, KvCacheFactory factory) {
}
