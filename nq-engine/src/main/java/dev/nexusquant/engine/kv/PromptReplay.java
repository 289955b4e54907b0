package dev.nexusquant.engine.kv;

/**
 * How a cache can be brought, without running the model, to the state that prefilling a prefix of a first prompt
 * leaves in it: by replaying the calls the forward pass made ({@link KvCache#append} with the same rows, and
 * {@link KvCache#attend} with the last queries of each call, whose output is thrown away). A prefix store keeps what
 * the replay needs, and nothing more.
 *
 * <p>Replay is exact (the state equals that of the prefill, so every later result is the same, bit for bit) when the
 * cache's state during the first prompt depends only on the rows appended and on the last {@code queriesPerCall}
 * queries of each attend call, and when rows and queries are kept at the precision given.
 *
 * @param replayable     whether replay reproduces the prefill state (false: e.g. a cache that ranks rows by the
 *                       attention they receive during the prompt, which depends on every query)
 * @param queriesPerCall the last queries of each attend call that leave something in the cache (0: attention leaves
 *                       nothing during the first prompt, so attend need not be replayed)
 * @param halfRows       rows are held in fp16 during the first prompt, so fp16 copies replay exactly
 * @param halfQueries    the queries that are kept are kept in fp16
 */
public record PromptReplay(boolean replayable, int queriesPerCall, boolean halfRows, boolean halfQueries) {

    /** A cache that cannot be replayed (the default). */
    public static final PromptReplay NONE = new PromptReplay(false, 0, false, false);

    public PromptReplay {
        if (queriesPerCall < 0) throw new IllegalArgumentException("queriesPerCall is negative: " + queriesPerCall);
    }

    /** Replayable from rows alone, at fp32 or fp16. */
    public static PromptReplay rowsOnly(boolean halfRows) {
        return new PromptReplay(true, 0, halfRows, false);
    }
}
