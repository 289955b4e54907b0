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
 * @param storedKey   the codec the old rows' keys are stored with: {@code keyCodec}, or with a KLT basis the head's
 *                   rates by variance in the same bytes per row (which may spend fewer: what the counts below use)
 * @param storedValue the same for values
 * @param bytes      bytes the plan's rows take (codes and positions), as the allocator counted them
 * @param error      the attention-output error the allocator measured for the option it started from
 * @param budget     bytes the head may hold in all when the plan was made (the plan's rows and everything else:
 *                   window, young rows, transform); as tokens come, the head may hold {@code budget * seen / tokens}
 * @param tokens     tokens seen when the plan was made
 */
record HeadPlan(int layer, int head, int keep, int oldRows, String keyName, String valueName,
                VectorCompressor keyCodec, VectorCompressor valueCodec, VectorCompressor storedKey,
                VectorCompressor storedValue, long bytes, double error, long budget,
                long tokens) {

    /** The share of old rows kept. */
    double share() {
        return oldRows == 0 ? 1.0 : (double) keep / oldRows;
    }

    /** Rows kept out of {@code n} that become old later: the same share, rounded. */
    int keepCount(int n) {
        return (int) Math.min(n, Math.round(share() * n));
    }

    /**
     * Rows kept out of {@code n} rows that age now (generation): as many as fit in what the head may still hold at
     * {@code seen} tokens ({@code others}: the bytes the head holds besides these rows), so that the ratio over every
     * row stays on the target; fewer than the plan's share when the head is over its budget (the full-precision
     * window's room for the next block and the young rows are not in the prompt's plan), more when it is under.
     */
    int keepCount(int n, long span, long seen, long others) {
        return keepCount(n, c -> BudgetPlanner.positionBytes(c, span), seen, others, Long.MAX_VALUE);
    }

    /**
     * As {@link #keepCount(int, long, long, long)}, the positions of {@code k} kept rows costing {@code positionBytes(k)}
     * and the head holding at most {@code cap} bytes in all (its share of a memory budget; Long.MAX_VALUE for none).
     */
    int keepCount(int n, java.util.function.IntToLongFunction positionBytes, long seen, long others, long cap) {
        long room = Math.min((long) Math.floor(budget * (double) seen / Math.max(1, tokens)), cap) - others;
        int k = 0;
        while (k < n && codeBytes(k + 1) + positionBytes.applyAsLong(k + 1) <= room) k++;
        return k;
    }

    /** Bytes of the codes of {@code n} rows as stored at the plan's codecs. */
    private long codeBytes(int n) {
        return dev.nexusquant.codec.CodedRows.bytesFor(storedKey, n) + dev.nexusquant.codec.CodedRows.bytesFor(storedValue, n);
    }

    /** Bytes of {@code n} rows at the plan's codecs, positions included. */
    long bytesFor(int n, long span) {
        if (n <= 0) return 0;
        return codeBytes(n) + BudgetPlanner.positionBytes(n, span);
    }

    /** {@code L3H1 keep 812/1000 e8:3/e8:2}. */
    String describe() {
        return "L" + layer + "H" + head + " keep " + keep + "/" + oldRows + " " + keyName + "/" + valueName;
    }
}
