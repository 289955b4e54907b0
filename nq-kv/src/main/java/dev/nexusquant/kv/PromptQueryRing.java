package dev.nexusquant.kv;

/**
 * The last queries of the prompt, all query heads of a KV head's group, in fp16: SnapKV votes with them, key
 * balancing and the bit allocation measure with them. A ring of {@code slots}; freed at the end of the first prompt.
 * Guarded by the owning head's monitor.
 */
final class PromptQueryRing {

    final short[] queries; // [slots][group * dim] fp16
    final int[] positions; // [slots]
    private final int width; // group * dim
    int recorded;          // queries recorded in all (may exceed slots)

    PromptQueryRing(int slots, int group, int dim) {
        this.width = group * dim;
        this.queries = new short[slots * width];
        this.positions = new int[slots];
    }

    int slots() {
        return positions.length;
    }

    /** Queries in the ring: at most {@code slots}. */
    int held() {
        return Math.min(recorded, positions.length);
    }

    long bytes() {
        return 2L * queries.length + 4L * positions.length;
    }

    /** Keeps the last of this call's {@code n} query positions ({@code qv}: [n][group * dim]). */
    void record(int n, int[] pos, float[] qv) {
        int cap = positions.length;
        for (int i = Math.max(0, n - cap); i < n; i++) {
            int slot = recorded % cap;
            for (int c = 0; c < width; c++) queries[slot * width + c] = Float.floatToFloat16(qv[i * width + c]);
            positions[slot] = pos[i];
            recorded++;
        }
    }

    /** The ring as floats: [slots][group * dim]. */
    float[] toFloats() {
        float[] q = new float[queries.length];
        for (int i = 0; i < q.length; i++) q[i] = Float.float16ToFloat(queries[i]);
        return q;
    }
}
