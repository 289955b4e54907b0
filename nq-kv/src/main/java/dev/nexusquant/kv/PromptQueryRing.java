package dev.nexusquant.kv;

import java.util.Arrays;

/**
 * The last queries of the prompt, all query heads of a KV head's group, in fp16: SnapKV votes with them, key
 * balancing and the bit allocation measure with them. A ring of {@code slots}; freed at the end of the first prompt.
 * Guarded by the owning head's monitor.
 */
final class PromptQueryRing {

    short[] queries;       // [allocated][group * dim] fp16, allocated <= slots: grown as queries come
    int[] positions;       // [allocated]
    private final int slots;
    private final int width; // group * dim
    int recorded;          // queries recorded in all (may exceed slots)

    /**
     * The share of a memory budget that the rings of all heads may take together: 1 / {@value}. The rings are held
     * (and counted in the budget) until the first prompt ends, which under a memory target is exactly while the
     * prompt's pieces are planned; a ring larger than this share takes the room those pieces are planned in (MAX's
     * 256-query rings took 2/3 of a 400 KiB budget and left the prompt's rows 30 KB of their 61 KB share).
     */
    static final int BUDGET_SHARE = 8;

    /**
     * How many queries a head's ring holds: {@code asked}, or under a memory budget as many as fit in the rings'
     * share of it ({@link #BUDGET_SHARE}), but never fewer than {@code least} (or {@code asked} when that is smaller):
     * the queries the bit allocation measures with.
     *
     * @param asked        queries the settings ask for (the eviction policy's observation window, or the allocator's)
     * @param least        fewest queries the cache works with
     * @param memoryBudget the cache's memory budget in bytes, 0 for none
     * @param heads        KV heads of all layers, each with a ring
     */
    static int slots(int asked, int least, long memoryBudget, int heads, int group, int dim) {
        if (asked <= 0) throw new IllegalArgumentException("queries asked for: " + asked);
        if (least <= 0 || heads <= 0 || group <= 0 || dim <= 0) {
            throw new IllegalArgumentException("least " + least + ", heads " + heads + ", group " + group + ", dim " + dim);
        }
        if (memoryBudget <= 0) return asked;
        long fit = memoryBudget / BUDGET_SHARE / heads / slotBytes(group, dim);
        return (int) Math.max(Math.min(asked, least), Math.min(asked, fit));
    }

    /** Bytes of one slot: a query of every head of the group in fp16, and its position. */
    static long slotBytes(int group, int dim) {
        return 2L * group * dim + 4;
    }

    /** Slots allocated before the first query: a short prompt then holds little more than it needs. */
    static final int FIRST_ALLOCATION = 64;

    PromptQueryRing(int slots, int group, int dim) {
        if (slots <= 0) throw new IllegalArgumentException("slots: " + slots);
        this.slots = slots;
        this.width = group * dim;
        int first = Math.min(slots, FIRST_ALLOCATION);
        this.queries = new short[first * width];
        this.positions = new int[first];
    }

    int slots() {
        return slots;
    }

    /** Slots allocated so far (at most {@link #slots}); the ring grows to all of them once that many queries came. */
    int allocated() {
        return positions.length;
    }

    /** Grows the arrays to hold slot {@code slot} (doubling, at most {@link #slots}). */
    private void reach(int slot) {
        if (slot < positions.length) return;
        int n = (int) Math.min(slots, Math.max(slot + 1L, 2L * positions.length));
        queries = Arrays.copyOf(queries, n * width);
        positions = Arrays.copyOf(positions, n);
    }

    /** Allocates every slot (a saved ring is read into all of them). */
    void allocateAll() {
        reach(slots - 1);
    }

    /** The queries of every slot, those never written 0: [slots][group * dim] fp16 (what a saved state holds). */
    short[] allQueries() {
        return Arrays.copyOf(queries, slots * width);
    }

    /** The positions of every slot, those never written 0: [slots]. */
    int[] allPositions() {
        return Arrays.copyOf(positions, slots);
    }

    /** Queries in the ring: at most {@code slots}. */
    int held() {
        return Math.min(recorded, slots);
    }

    /**
     * Bytes the ring is charged: every slot, allocated or not (a memory budget reserves them when the cache is made,
     * so the plans do not depend on how far the ring has grown).
     */
    long bytes() {
        return slots * (2L * width + 4); // slotBytes(group, dim) with width = group * dim
    }

    /** Keeps the last of this call's {@code n} query positions ({@code qv}: [n][group * dim]). */
    void record(int n, int[] pos, float[] qv) {
        int cap = slots;
        for (int i = Math.max(0, n - cap); i < n; i++) {
            int slot = recorded % cap;
            reach(slot);
            for (int c = 0; c < width; c++) queries[slot * width + c] = Float.floatToFloat16(qv[i * width + c]);
            positions[slot] = pos[i];
            recorded++;
        }
    }

    /** The ring as floats: [slots][group * dim] (slots never written 0). */
    float[] toFloats() {
        float[] q = new float[slots * width];
        for (int i = 0; i < queries.length; i++) q[i] = Float.float16ToFloat(queries[i]);
        return q;
    }
}
