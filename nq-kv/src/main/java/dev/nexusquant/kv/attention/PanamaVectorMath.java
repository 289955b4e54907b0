package dev.nexusquant.kv.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vector API version of {@link VectorMath}: full lanes of the preferred species, then a scalar tail. */
final class PanamaVectorMath implements VectorMath {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static VectorMath create() {
        try {
            return S.length() >= 4 ? new PanamaVectorMath() : null;
        } catch (Throwable t) { // module not resolved
            return null;
        }
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector va = FloatVector.broadcast(S, alpha);
        for (; i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public void scale(float[] y, int off, int n, float s) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += S.length()) {
            FloatVector.fromArray(S, y, off + i).mul(s).intoArray(y, off + i);
        }
        for (; i < n; i++) y[off + i] *= s;
    }

    @Override
    public float expInPlace(float[] s, int off, int n, float max) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector sum = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            FloatVector e = FloatVector.fromArray(S, s, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + i);
            sum = sum.add(e);
        }
        float total = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(s[off + i] - max);
            s[off + i] = e;
            total += e;
        }
        return total;
    }

    @Override
    public float max(float[] s, int off, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (bound > 0) {
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < bound; i += S.length()) mv = mv.max(FloatVector.fromArray(S, s, off + i));
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, s[off + i]);
        return m;
    }
}
