package dev.nexusquant.kv;

import dev.nexusquant.codec.VectorCompressor;

/**
 * What the {@link BudgetAllocator} chose for one (layer, KV head): how many of its old rows it keeps and the codecs
 * they are stored with. Rows that become old later (generation) are cut to the same share.
 *
 * @param layer      layer
 * @param head       KV head
 * @param keep       old rows of the prompt kept (sinks included)
 * @param oldRows    old rows of the prompt the plan chose among
 * @param keyCodec   codec of the old rows' keys
 * @param valueCodec codec of the old rows' values
 * @param bytes      bytes the plan's rows take (codes and positions), as the allocator counted them
 * @param error      the attention-output error the allocator measured for the option it started from
 */
record HeadPlan(int layer, int head, int keep, int oldRows, String keyName, String valueName,
                VectorCompressor keyCodec, VectorCompressor valueCodec, long bytes, double error) {

    /** The share of old rows kept. */
    double share() {
        return oldRows == 0 ? 1.0 : (double) keep / oldRows;
    }

    /** Rows kept out of {@code n} that become old later: the same share, rounded. */
    int keepCount(int n) {
        return (int) Math.min(n, Math.round(share() * n));
    }

    /** {@code L3H1 keep 812/1000 e8:3/e8:2}. */
    String describe() {
        return "L" + layer + "H" + head + " keep " + keep + "/" + oldRows + " " + keyName + "/" + valueName;
    }
}
