package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Dense attention in double precision over everything appended: the reference the caches are compared with. */
final class NaiveAttention {

    private final KvLayout layout;
    private final List<List<int[]>> pos = new ArrayList<>();     // [layer] list of single-element arrays
    private final List<List<float[]>> keys = new ArrayList<>();  // [layer] rows [kvDim]
    private final List<List<float[]>> values = new ArrayList<>();

    NaiveAttention(KvLayout layout) {
        this.layout = layout;
        for (int l = 0; l < layout.layers(); l++) {
            pos.add(new ArrayList<>());
            keys.add(new ArrayList<>());
            values.add(new ArrayList<>());
        }
    }

    void append(int layer, int n, int[] positions, float[] k, float[] v) {
        int kvDim = layout.kvDim();
        for (int i = 0; i < n; i++) {
            pos.get(layer).add(new int[]{positions[i]});
            keys.get(layer).add(stored(java.util.Arrays.copyOfRange(k, i * kvDim, (i + 1) * kvDim)));
            values.get(layer).add(stored(java.util.Arrays.copyOfRange(v, i * kvDim, (i + 1) * kvDim)));
        }
    }

    /** From now on, round every appended value through fp16 (the reference of fp16 storage). */
    void roundToHalf() {
        half = true;
    }

    private boolean half;

    private float[] stored(float[] row) {
        if (half) for (int i = 0; i < row.length; i++) row[i] = Float.float16ToFloat(Float.floatToFloat16(row[i]));
        return row;
    }

    /** Like KvCache.attend; {@code kept} (may be null) restricts the rows to those positions. */
    void attend(int layer, int kvHead, int n, int[] positions, float[] q, float[] out, Set<Integer> kept) {
        int d = layout.headDim();
        int group = layout.groupSize();
        int qDim = layout.qDim();
        List<int[]> p = pos.get(layer);
        for (int i = 0; i < n; i++) {
            for (int g = 0; g < group; g++) {
                int h = kvHead * group + g;
                int qo = i * qDim + h * d;
                double[] s = new double[p.size()];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < p.size(); t++) {
                    int tp = p.get(t)[0];
                    if (tp > positions[i] || (kept != null && !kept.contains(tp))) {
                        s[t] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    float[] k = keys.get(layer).get(t);
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double) q[qo + c] * k[kvHead * d + c];
                    s[t] = dot / Math.sqrt(d);
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                double[] acc = new double[d];
                for (int t = 0; t < p.size(); t++) {
                    if (s[t] == Double.NEGATIVE_INFINITY) continue;
                    double e = Math.exp(s[t] - max);
                    sum += e;
                    float[] v = values.get(layer).get(t);
                    for (int c = 0; c < d; c++) acc[c] += e * v[kvHead * d + c];
                }
                for (int c = 0; c < d; c++) out[qo + c] = (float) (acc[c] / sum);
            }
        }
    }
}
