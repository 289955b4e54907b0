package dev.nexusquant.eval.analysis;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.kv.HeldRows;

import java.util.Arrays;

/**
 * An analysis cache: a compressed cache runs beside it and decides which rows are held (its eviction, its byte
 * budget), but once the prompt has ended attention reads the held rows at full precision (fp32, as appended): the
 * loss of eviction alone at the kept fraction the compressed cache reaches. {@link #stats()} counts the held rows as fp16 would store them
 * (2 bytes a value, positions not counted), so its ratio is the kept fraction's, not the target.
 */
final class HeldRowsAtFullPrecision implements KvCache {

    private final KvCache decider;
    private final KvLayout layout;
    /** [layer][rows * kvDim] keys and values as appended. */
    private final float[][] keys;
    private final float[][] values;
    /** [layer][rows] positions as appended, ascending. */
    private final int[][] positions;
    private final int[] counts;
    private boolean prompted;

    HeldRowsAtFullPrecision(KvCache decider) {
        this.decider = decider;
        this.layout = decider.layout();
        this.keys = new float[layout.layers()][0];
        this.values = new float[layout.layers()][0];
        this.positions = new int[layout.layers()][0];
        this.counts = new int[layout.layers()];
    }

    /** The cache that decides which rows are held. */
    KvCache decider() {
        return decider;
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public void append(int layer, int n, int[] pos, float[] k, float[] v) {
        decider.append(layer, n, pos, k, v);
        int kvDim = layout.kvDim(), c = counts[layer];
        if ((c + n) * kvDim > keys[layer].length) {
            int cap = Math.max(c + n, 2 * c + 64);
            keys[layer] = Arrays.copyOf(keys[layer], cap * kvDim);
            values[layer] = Arrays.copyOf(values[layer], cap * kvDim);
            positions[layer] = Arrays.copyOf(positions[layer], cap);
        }
        System.arraycopy(k, 0, keys[layer], c * kvDim, n * kvDim);
        System.arraycopy(v, 0, values[layer], c * kvDim, n * kvDim);
        System.arraycopy(pos, 0, positions[layer], c, n);
        counts[layer] = c + n;
    }

    /**
     * While the prompt comes, the deciding cache's own attention (it holds the prompt's rows uncoded in its staging
     * window until the prompt ends: the plans it then makes see exactly the hidden states they see alone). Afterwards
     * the deciding cache attends too, its output thrown away (it records the attention rows receive, which its counts
     * and bytes depend on), and the output is attention over the rows it holds, read at full precision.
     */
    @Override
    public void attend(int layer, int kvHead, int n, int[] pos, float[] q, float[] out) {
        if (!prompted) {
            decider.attend(layer, kvHead, n, pos, q, out);
            return;
        }
        decider.attend(layer, kvHead, n, pos, q, out.clone());
        int[] held = HeldRows.positions(decider, layer, kvHead);
        int[] rows = new int[held.length]; // [held] row index in this cache's arrays
        for (int i = 0; i < held.length; i++) {
            rows[i] = Arrays.binarySearch(positions[layer], 0, counts[layer], held[i]);
            if (rows[i] < 0) throw new IllegalStateException("held position " + held[i] + " was never appended");
        }
        MaskedAttention.attend(layout, keys[layer], values[layer], rows, held, kvHead, n, pos, q, out);
    }

    @Override
    public void endOfPrompt() {
        decider.endOfPrompt();
        prompted = true;
    }

    @Override
    public void freeze() {
        decider.freeze();
    }

    @Override
    public int maxAppend() {
        return decider.maxAppend();
    }

    @Override
    public void expectPrompt(long tokens) {
        decider.expectPrompt(tokens);
    }

    @Override
    public String allocation() {
        return decider.allocation();
    }

    @Override
    public long tokensSeen() {
        return decider.tokensSeen();
    }

    /** The deciding cache's rows held, as fp16 rows (keys and values, 2 bytes a value, positions not counted). */
    @Override
    public KvStats stats() {
        KvStats d = decider.stats();
        long rows = Math.round(d.tokensKept() * layout.layers() * layout.kvHeads());
        long bytes = rows * 2L * layout.headDim() * 2L;
        return new KvStats(d.tokensSeen(), d.tokensKept(), bytes, d.fp16Bytes(), d.values(),
                "analysis: the rows a compressed cache holds, read at full precision");
    }

    @Override
    public void close() {
        decider.close();
    }
}
