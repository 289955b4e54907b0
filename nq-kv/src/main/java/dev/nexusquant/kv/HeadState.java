package dev.nexusquant.kv;

import dev.nexusquant.codec.importance.H2OAccumulator;

/**
 * Everything one (layer, KV head) of a {@link CompressedKvCache} holds: the full-precision window of recent rows,
 * the compressed segments, the row transform fitted at its first compression, the prompt's last queries (while the
 * first prompt lasts) and the attention each window row received. Attention may run for several heads at once;
 * the state it updates (prompt queries, received attention) is guarded by this object's monitor.
 */
final class HeadState {

    final RowWindow window;
    final SegmentStore segments;
    final RowTransform transform;
    PromptQueryRing promptQueries; // null when unused, and after the first prompt
    H2OAccumulator received;       // attention each window row received (index = window row), or null
    HeadPlan plan;                 // the budget allocator's choice for the old rows (ratio=R), or null
    int jointKeep = -1;            // rows kept at the first prompt's end when the layer's heads pool them (AdaKV), or -1

    HeadState(RowWindow window, SegmentStore segments, RowTransform transform) {
        this.window = window;
        this.segments = segments;
        this.transform = transform;
    }

    /** Window rows {@code [0, rows)} as [rows][dim] keys and their positions. */
    float[] windowKeys(int rows, int dim) {
        float[] k = new float[rows * dim];
        window.keys(0, rows, k, 0);
        return k;
    }

    int[] windowPositions(int rows) {
        int[] p = new int[rows];
        for (int r = 0; r < rows; r++) p[r] = window.position(r);
        return p;
    }

    /** True while prompt queries are recorded and at least one was. */
    boolean hasPromptQueries() {
        return promptQueries != null && promptQueries.recorded > 0;
    }
}
