package dev.nexusquant.engine.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Lanes} against plain Java on random lanes (seeded), and exp's special values. */
class LanesTest {

    static final int L = VectorKernels.F.length();

    @Test
    void sumIsTheFixedTreeOfTheLanes() {
        Random r = new Random(42);
        float[] a = new float[L];
        for (int rep = 0; rep < 10_000; rep++) {
            for (int i = 0; i < L; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8) - 4));
            if (rep % 100 == 1) a[r.nextInt(L)] = r.nextBoolean() ? -0f : Float.POSITIVE_INFINITY; // signed zero, infinity
            float[] t = a.clone(); // the tree, written out: lanes i and i + w summed, w = L/2, L/4, .., 1
            for (int w = L / 2; w >= 1; w /= 2) {
                float[] n = new float[L];
                for (int i = 0; i < L; i++) n[i] = t[i] + t[i ^ w];
                t = n;
            }
            assertEquals(Float.floatToRawIntBits(t[0]), Float.floatToRawIntBits(Lanes.sum(FloatVector.fromArray(VectorKernels.F, a, 0))),
                    "rep " + rep);
            assertEquals(Float.floatToRawIntBits(t[0]), Float.floatToRawIntBits(Lanes.sumByShuffles(FloatVector.fromArray(VectorKernels.F, a, 0))),
                    "rep " + rep + " (shuffles)");
        }
    }

    @Test
    void expIsWithinTwoUlpOfMathExp() {
        Random r = new Random(7);
        float[] x = new float[L], y = new float[L];
        for (int rep = 0; rep < 20_000; rep++) {
            for (int i = 0; i < L; i++) x[i] = (float) (r.nextDouble() * 175 - 87); // [-87, 88]
            Lanes.exp(FloatVector.fromArray(VectorKernels.F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < L; i++) {
                float e = (float) Math.exp(x[i]);
                assertTrue(Math.abs(y[i] - e) <= 2 * Math.ulp(e), "exp(" + x[i] + ") = " + y[i] + ", Math.exp " + e);
            }
        }
    }

    @Test
    void expIsSmallEnoughForC2ToInline() throws Exception {
        // a hot method of more than FreqInlineSize (325) bytes of bytecode is not inlined: its vectors then cross the call
        // boxed (an array and an object per call), which softmax and SiLU paid on every 16 floats
        byte[] bytes;
        try (var in = Lanes.class.getResourceAsStream("Lanes.class")) {
            bytes = in.readAllBytes();
        }
        int size = java.lang.classfile.ClassFile.of().parse(bytes).methods().stream()
                .filter(m -> m.methodName().equalsString("exp"))
                .findFirst().orElseThrow()
                .findAttribute(java.lang.classfile.Attributes.code()).orElseThrow().codeLength();
        assertTrue(size <= 325, "Lanes.exp is " + size + " bytes of bytecode");
    }

    @Test
    void expSpecialValues() {
        float[] x = new float[L], y = new float[L];
        float[] in = {0f, -0f, 1f, -1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, -100f, 100f, -87.5f, 88.8f, 88.5f};
        for (int i = 0; i < L; i++) x[i] = in[i % in.length];
        for (int rep = 0; rep < 50_000; rep++) { // long enough for the compiled code to be the one checked
            Lanes.exp(FloatVector.fromArray(VectorKernels.F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < L; i++) if (Float.isNaN(x[i])) assertTrue(Float.isNaN(y[i]), "rep " + rep);
        }
        for (int i = 0; i < L; i++) {
            float v = x[i];
            if (Float.isNaN(v)) assertTrue(Float.isNaN(y[i]));
            else if (v < -87.34f) assertEquals(0f, y[i], "exp(" + v + ")");
            else if (v > 88.73f) assertEquals(Float.POSITIVE_INFINITY, y[i], "exp(" + v + ")");
            else if (v > 88.38f) assertEquals((float) Math.exp(88.3762626647949f), y[i], 2 * Math.ulp(y[i]), "exp(" + v + ") clamped");
            else assertEquals((float) Math.exp(v), y[i], 2 * Math.ulp((float) Math.exp(v)), "exp(" + v + ")");
        }
    }
}
