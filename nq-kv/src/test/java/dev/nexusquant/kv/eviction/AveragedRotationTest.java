package dev.nexusquant.kv.eviction;

import dev.nexusquant.codec.rope.Rope;
import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.kv.PositionalRotation;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The averaged rotation's sparse product against the dense one it replaces (seeded; replay with -Dnq.test.seed=S). */
class AveragedRotationTest {

    static final long SEED = Long.getLong("nq.test.seed", System.nanoTime());

    static PositionalRotation rope(RopeParams.Convention convention, int dim, int rotary) {
        Rope r = new Rope(new RopeParams(convention, 10000, 1, rotary), dim);
        return new PositionalRotation() {
            @Override
            public void forward(float[] x, int off, int pos) {
                r.forward(x, off, pos);
            }

            @Override
            public void inverse(float[] x, int off, int pos) {
                r.inverse(x, off, pos);
            }
        };
    }

    /** {@code M(p) x} the long way: every entry of the dense {@code M0}, double sums in column order, then RoPE. */
    static float[] dense(PositionalRotation rope, int dim, int future, float[] x, int p) {
        float[] m0 = AveragedRotation.average(rope, dim, future);
        float[] y = new float[dim];
        for (int i = 0; i < dim; i++) {
            double s = 0;
            for (int j = 0; j < dim; j++) s += (double) m0[i * dim + j] * x[j];
            y[i] = (float) s;
        }
        rope.forward(y, 0, p);
        return y;
    }

    @Test
    void sparseProductGivesTheDenseProductsBitsForEveryConvention() {
        Random rnd = new Random(SEED);
        int[][] shapes = {{64, 64}, {128, 128}, {64, 32}, {96, 64}}; // {head dim, rotated dims}
        for (RopeParams.Convention convention : RopeParams.Convention.values()) {
            for (int[] shape : shapes) {
                int dim = shape[0], future = 1 + rnd.nextInt(600);
                PositionalRotation rope = rope(convention, dim, shape[1]);
                AveragedRotation m = new AveragedRotation(rope, dim, future);
                for (int trial = 0; trial < 20; trial++) {
                    float[] x = new float[dim + 7];
                    for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
                    if (trial % 5 == 0) x[3 + rnd.nextInt(dim)] = 0f; // zeros and negative zeros among the inputs
                    if (trial % 5 == 1) x[3 + rnd.nextInt(dim)] = -0f;
                    int p = rnd.nextInt(4096);
                    float[] in = java.util.Arrays.copyOfRange(x, 3, 3 + dim);
                    float[] want = dense(rope, dim, future, in, p);
                    m.apply(x, 3, p);
                    float[] got = java.util.Arrays.copyOfRange(x, 3, 3 + dim);
                    assertArrayEquals(want, got, () -> "seed " + SEED + ", " + convention + ", dim " + dim
                            + ", rotary " + shape[1] + ", future " + future);
                }
            }
        }
    }

    @Test
    void eachRowOfTheAverageHasAtMostTwoEntries() {
        for (RopeParams.Convention convention : RopeParams.Convention.values()) {
            int dim = 64;
            float[] m0 = AveragedRotation.average(rope(convention, dim, 48), dim, 512);
            AveragedRotation.Sparse s = AveragedRotation.Sparse.of(m0, dim);
            for (int i = 0; i < dim; i++) {
                int entries = s.start()[i + 1] - s.start()[i];
                assertTrue(entries == 1 || entries == 2, convention + " row " + i + ": " + entries + " entries");
                if (i >= 48) assertEquals(1, entries, convention + " row " + i + ", not rotated");
            }
        }
    }
}
