package dev.nexusquant.eval.analysis;

/**
 * The attention mass each cached row receives from a chunk's continuation in a dense pass: per layer, KV head and
 * row position, summed over the query heads of the group, kept in bins of {@link #BIN} query positions so that a
 * ranking at time {@code t} can ask for the mass still to come (from queries after {@code t}). An analysis input
 * ({@link OracleRanking}), never part of a cache.
 */
public final class OracleMass {

    /** Query positions per bin. */
    public static final int BIN = 32;

    private final int layers;
    private final int kvHeads;
    private final int positions;
    private final int from;
    private final int bins;
    /** [layer][kvHead][position * bins + bin] mass received from the queries of the bin. */
    private final float[][][] mass;

    /**
     * @param positions rows are at positions {@code [0, positions)}
     * @param from      the first query position recorded (the continuation's first token)
     */
    public OracleMass(int layers, int kvHeads, int positions, int from) {
        if (layers <= 0 || kvHeads <= 0) throw new IllegalArgumentException("layers and KV heads must be positive");
        if (from < 0 || from >= positions) {
            throw new IllegalArgumentException("the first recorded query " + from + " must be in [0, " + positions + ")");
        }
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.positions = positions;
        this.from = from;
        this.bins = (positions - from + BIN - 1) / BIN;
        this.mass = new float[layers][kvHeads][positions * bins];
    }

    /** The first query position recorded. */
    public int from() {
        return from;
    }

    /** Whether a query at {@code queryPosition} is recorded. */
    public boolean records(int queryPosition) {
        return queryPosition >= from && queryPosition < positions;
    }

    /** Adds {@code p} to the mass row {@code position} of a head receives from a query at {@code queryPosition}. */
    void add(int layer, int kvHead, int position, int queryPosition, float p) {
        mass[layer][kvHead][position * bins + (queryPosition - from) / BIN] += p;
    }

    /**
     * The mass row {@code position} receives from the recorded queries after {@code after}, counted by whole bins:
     * the bin holding {@code after + 1} counts whole (up to {@code BIN - 1} earlier queries included).
     */
    public double future(int layer, int kvHead, int position, int after) {
        check(layer, kvHead, position);
        if (after + 1 >= positions) return 0;
        int b0 = Math.max(0, (after + 1 - from) / BIN);
        float[] m = mass[layer][kvHead];
        double s = 0;
        for (int b = b0; b < bins; b++) s += m[position * bins + b];
        return s;
    }

    /** The mass row {@code position} receives from every recorded query. */
    public double total(int layer, int kvHead, int position) {
        return future(layer, kvHead, position, from - 1);
    }

    private void check(int layer, int kvHead, int position) {
        if (layer < 0 || layer >= layers || kvHead < 0 || kvHead >= kvHeads) {
            throw new IllegalArgumentException("no head L" + layer + "H" + kvHead + " (" + layers + " layers, " + kvHeads + " KV heads)");
        }
        if (position < 0 || position >= positions) {
            throw new IllegalArgumentException("position " + position + " out of [0, " + positions + ")");
        }
    }
}
