package dev.nexusquant.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes, always in the same order, whichever way the JVM runs it. {@code reduceLanes(ADD)} is
 * free to add the lanes in a different order in the interpreter, C1 and C2 (C2 adds them in a tree, the Java fallback
 * one after the other), so a kernel's result changed in its last bits while the JIT warmed up. This adds lane i and
 * lane i + L/2 first, then halves again, with lanewise additions and shuffles only, each of which IEEE 754 defines
 * exactly: every tier computes the same bits. It is the order of the engine's {@code Lanes.sum}.
 *
 * <p>For the vector twins of the kernels outside the engine (the compressed cache's attention, the E8 codec's dot
 * products); load it only where {@code jdk.incubator.vector} is in the boot layer ({@link Vectorization}).
 */
public final class LaneSum {

    private static final VectorShuffle<Float> X4_256 = xor(FloatVector.SPECIES_256, 4);
    private static final VectorShuffle<Float> X2_256 = xor(FloatVector.SPECIES_256, 2);
    private static final VectorShuffle<Float> X1_256 = xor(FloatVector.SPECIES_256, 1);
    private static final VectorShuffle<Float> X8_512 = xor(FloatVector.SPECIES_512, 8);
    private static final VectorShuffle<Float> X4_512 = xor(FloatVector.SPECIES_512, 4);
    private static final VectorShuffle<Float> X2_512 = xor(FloatVector.SPECIES_512, 2);
    private static final VectorShuffle<Float> X1_512 = xor(FloatVector.SPECIES_512, 1);

    private LaneSum() {
    }

    private static VectorShuffle<Float> xor(VectorSpecies<Float> s, int bit) {
        return VectorShuffle.fromOp(s, i -> i ^ bit);
    }

    /**
     * The sum of the lanes of {@code v}: for 8 lanes ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), for 16 lanes the same
     * tree with one more level (lanes i and i+8 first); any other lane count adds the lanes in index order.
     */
    public static float sum(FloatVector v) {
        VectorSpecies<Float> s = v.species();
        if (s == FloatVector.SPECIES_256) {
            v = v.add(v.rearrange(X4_256));
            v = v.add(v.rearrange(X2_256));
            v = v.add(v.rearrange(X1_256));
            return v.lane(0);
        }
        if (s == FloatVector.SPECIES_512) {
            v = v.add(v.rearrange(X8_512));
            v = v.add(v.rearrange(X4_512));
            v = v.add(v.rearrange(X2_512));
            v = v.add(v.rearrange(X1_512));
            return v.lane(0);
        }
        float r = 0f;
        for (int i = 0; i < v.length(); i++) r += v.lane(i);
        return r;
    }
}
