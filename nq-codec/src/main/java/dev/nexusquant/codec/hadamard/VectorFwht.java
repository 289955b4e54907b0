package dev.nexusquant.codec.hadamard;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Walsh-Hadamard butterflies with the Panama Vector API, 8 float lanes (256 bits: AVX2, and a good width on
 * AVX-512 too for the head sizes of 64 to 256 that matter here).
 *
 * <p>The passes of stride {@code h = 1, 2, 4} happen inside one register: lane i needs lane {@code i ^ h}, so
 * {@code y = x.rearrange(i -> i ^ h) + x * s_h} with {@code s_h[i] = +1} where bit h of i is clear and -1 where it is
 * set; the three are done with one load and one store per 8 elements. The passes of stride {@code h >= 8} are plain
 * vector butterflies between {@code x[j..j+8)} and {@code x[j+h..j+h+8)}, two strides (h and 2h) per load and store
 * of four vectors where they fit, the last one alone when the count is odd. Blocks shorter than 8 use the scalar loops.
 * Every lane computes exactly the scalar kernel's {@code a + b} or {@code a - b}, so results are bit-identical to it.
 */
final class VectorFwht implements Fwht {

    static final VectorFwht INSTANCE = new VectorFwht();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int L = 8;
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(S, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(S, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(S, i -> i ^ 4);
    private static final FloatVector SIGN1 = FloatVector.fromArray(S, new float[]{1, -1, 1, -1, 1, -1, 1, -1}, 0);
    private static final FloatVector SIGN2 = FloatVector.fromArray(S, new float[]{1, 1, -1, -1, 1, 1, -1, -1}, 0);
    private static final FloatVector SIGN4 = FloatVector.fromArray(S, new float[]{1, 1, 1, 1, -1, -1, -1, -1}, 0);

    @Override
    public void transform(float[] x, int off, int n) {
        if (n < L) {
            ScalarFwht.INSTANCE.transform(x, off, n);
            return;
        }
        for (int j = off, end = off + n; j < end; j += L) {
            FloatVector v = FloatVector.fromArray(S, x, j);
            v = v.rearrange(SWAP1).add(v.mul(SIGN1));
            v = v.rearrange(SWAP2).add(v.mul(SIGN2));
            v = v.rearrange(SWAP4).add(v.mul(SIGN4));
            v.intoArray(x, j);
        }
        int h = L;
        for (; 4 * h <= n; h <<= 2) { // the passes of strides h and 2h together: one load and store for both
            for (int i = 0; i < n; i += 4 * h) {
                for (int j = off + i, end = off + i + h; j < end; j += L) {
                    FloatVector a = FloatVector.fromArray(S, x, j);
                    FloatVector b = FloatVector.fromArray(S, x, j + h);
                    FloatVector c = FloatVector.fromArray(S, x, j + 2 * h);
                    FloatVector d = FloatVector.fromArray(S, x, j + 3 * h);
                    FloatVector ab = a.add(b), aMinusB = a.sub(b), cd = c.add(d), cMinusD = c.sub(d);
                    ab.add(cd).intoArray(x, j);
                    aMinusB.add(cMinusD).intoArray(x, j + h);
                    ab.sub(cd).intoArray(x, j + 2 * h);
                    aMinusB.sub(cMinusD).intoArray(x, j + 3 * h);
                }
            }
        }
        if (h < n) { // a last pass of stride n / 2
            for (int j = off, end = off + h; j < end; j += L) {
                FloatVector a = FloatVector.fromArray(S, x, j);
                FloatVector b = FloatVector.fromArray(S, x, j + h);
                a.add(b).intoArray(x, j);
                a.sub(b).intoArray(x, j + h);
            }
        }
    }
}
