package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Lane operations whose result does not depend on how the JVM runs them. {@code reduceLanes(ADD)} and
 * {@code lanewise(EXP)} are free to differ between the interpreter, C1 and C2 (C2 sums the lanes in a tree, the Java
 * fallback in order; C2 calls a vector math library for EXP where the fallback calls {@code Math.exp}), so a model's
 * logits changed in the last bits while the JIT warmed up. These are written with lanewise additions, FMAs, shuffles
 * and bit operations only, each of which IEEE 754 defines exactly, so every tier computes the same bits
 * ({@code JitTierDeterminismTest}).
 */
final class Lanes {

    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorKernels.I;
    private static final int L = F.length();
    private static final VectorShuffle<Float> HALF = VectorShuffle.fromOp(F, i -> i ^ (L / 2));
    private static final VectorShuffle<Float> QUARTER = VectorShuffle.fromOp(F, i -> i ^ (L / 4));
    private static final VectorShuffle<Float> EIGHTH = VectorShuffle.fromOp(F, i -> i ^ (L / 8));
    private static final VectorShuffle<Float> SIXTEENTH = VectorShuffle.fromOp(F, i -> i ^ Math.max(1, L / 16));

    private Lanes() {
    }

    /**
     * The sum of the lanes of {@code v}, always as the same tree: lanes i and i + L/2 first, then halving again. The
     * halves are taken by reinterpreting the vector as its two halves (a register move or one extract) and the last
     * four lanes are summed as floats: the same additions as {@link #sumByShuffles}, bit for bit, without its four
     * cross-lane shuffles (each loads and checks its index vector) that ended every row's dot product.
     */
    static float sum(FloatVector v) {
        FloatVector s8;
        if (L == 16) {
            s8 = ((FloatVector) v.reinterpretShape(FloatVector.SPECIES_256, 0)).add((FloatVector) v.reinterpretShape(FloatVector.SPECIES_256, 1));
        } else {
            s8 = v;
        }
        FloatVector s4 = ((FloatVector) s8.reinterpretShape(FloatVector.SPECIES_128, 0)).add((FloatVector) s8.reinterpretShape(FloatVector.SPECIES_128, 1));
        return (s4.lane(0) + s4.lane(2)) + (s4.lane(1) + s4.lane(3));
    }

    /** {@link #sum} with lane shuffles (the form it had before; kept for the test that the two agree bit for bit). */
    static float sumByShuffles(FloatVector v) {
        v = v.add(v.rearrange(HALF));
        v = v.add(v.rearrange(QUARTER));
        v = v.add(v.rearrange(EIGHTH));
        if (L == 16) v = v.add(v.rearrange(SIXTEENTH));
        return v.lane(0);
    }

    // exp(x) = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts), e^r by Cephes' expf polynomial
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 0x1.8p23f; // adding then subtracting it rounds to the nearest integer
    private static final float MAX_X = 88.3762626647949f, MIN_X = -87.3365447504019f;

    /**
     * {@code e^x} in every lane, within 2 ulp of {@code Math.exp} (the polynomial of Cephes' expf); 0 below -87.34 (no
     * subnormal results), +inf above 88.72, between 88.38 and 88.72 the value at 88.38; NaN stays NaN (it goes through
     * every step: min, max and the products keep it).
     *
     * <p>Its bytecode must stay within C2's {@code FreqInlineSize} (325 bytes): a hot call that is not inlined passes
     * its vectors boxed, an array and an object per call, and softmax and SiLU ran that way (316 bytes now, 336 before,
     * when a NaN mask was blended at the end; {@code LanesTest} checks the size).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector round = FloatVector.broadcast(F, ROUND), minX = FloatVector.broadcast(F, MIN_X);
        VectorMask<Float> over = x.compare(VectorOperators.GT, FloatVector.broadcast(F, 88.72283f));
        VectorMask<Float> under = x.compare(VectorOperators.LT, minX);
        FloatVector c = x.min(FloatVector.broadcast(F, MAX_X)).max(minX);
        FloatVector t = c.fma(FloatVector.broadcast(F, LOG2E), round);
        IntVector n = t.reinterpretAsInts().sub(round.reinterpretAsInts());
        FloatVector fn = t.sub(round);
        FloatVector r = fn.fma(FloatVector.broadcast(F, -LN2_HI), c);
        r = fn.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(F, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        FloatVector e = p.fma(r.mul(r), r).add(FloatVector.broadcast(F, 1f));
        FloatVector scale = n.add(IntVector.broadcast(I, 127)).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = e.mul(scale);
        return y.blend(FloatVector.zero(F), under).blend(FloatVector.broadcast(F, Float.POSITIVE_INFINITY), over);
    }
}
