package dev.nexusquant.kv.eviction;

/**
 * The last queries of a prompt, as a compressed cache records them for SnapKV, and the keys they attend to.
 *
 * @param queries   [slots][group * dim] a ring of the last queries of all query heads of the group; slot
 *                  {@code (recorded - 1 - o) % slots} holds the o-th most recent one
 * @param positions [slots] their positions
 * @param recorded  queries recorded in all (may exceed the ring's size)
 * @param keys      [rows][dim] the window's keys, as appended
 * @param keyPositions [rows] their positions
 * @param rows      window rows
 * @param group     query heads per KV head
 * @param dim       head dimension
 */
public record PromptQueries(float[] queries, int[] positions, int recorded, float[] keys, int[] keyPositions, int rows,
                            int group, int dim) {

    /** Queries in the ring. */
    public int slots() {
        return positions.length;
    }
}
