package dev.nexusquant.codec.rope;

/**
 * Rotary position embedding parameters, as GGML applies RoPE (RoFormer, Su et al. 2021).
 *
 * <p>For a head vector at position {@code p}, pair {@code i} (of {@code rotaryDims / 2}) is rotated by the angle
 * {@code theta_i(p) = (p / linearScale) * base^(-2i / rotaryDims)}. The two GGML conventions differ only in which
 * elements form pair i:
 * <ul>
 *   <li>{@link Convention#ADJACENT} (GGML "normal", llama, mistral): elements {@code 2i} and {@code 2i + 1};</li>
 *   <li>{@link Convention#HALVES} (GGML "neox", qwen2): elements {@code i} and {@code i + rotaryDims / 2}.</li>
 * </ul>
 * Elements at and past {@code rotaryDims} are not rotated. (The codec keeps its own record so that it depends on no
 * engine; the engine's {@code RopeSpec} maps onto it field by field.)
 *
 * @param convention  pairing convention
 * @param base        frequency base (theta), for example 10000 or 1000000
 * @param linearScale positions are divided by this ("linear" RoPE scaling; 1 means none)
 * @param rotaryDims  number of leading head dimensions rotated; even, at most the head dimension
 */
public record RopeParams(Convention convention, double base, double linearScale, int rotaryDims) {

    public enum Convention { ADJACENT, HALVES }

    public RopeParams {
        if (convention == null) throw new IllegalArgumentException("RopeParams: convention is null");
        if (!(base > 1.0) || Double.isInfinite(base)) {
            throw new IllegalArgumentException("RopeParams: base must be finite and > 1: " + base);
        }
        if (!(linearScale > 0.0) || Double.isInfinite(linearScale)) {
            throw new IllegalArgumentException("RopeParams: linearScale must be finite and > 0: " + linearScale);
        }
        if (rotaryDims <= 0 || (rotaryDims & 1) != 0) {
            throw new IllegalArgumentException("RopeParams: rotaryDims must be positive and even: " + rotaryDims);
        }
    }

    /** The usual llama setting: adjacent pairs, no scaling, the whole head rotated. */
    public static RopeParams llama(double base, int headDim) {
        return new RopeParams(Convention.ADJACENT, base, 1.0, headDim);
    }

    /** The usual qwen2 / neox setting: halves, no scaling, the whole head rotated. */
    public static RopeParams neox(double base, int headDim) {
        return new RopeParams(Convention.HALVES, base, 1.0, headDim);
    }

    /** {@code base^(-2i / rotaryDims)}, in double. */
    public double inverseFrequency(int i) {
        return Math.pow(base, -2.0 * i / rotaryDims);
    }

    /** The element index of the first member of pair i. */
    public int first(int i) {
        return convention == Convention.ADJACENT ? 2 * i : i;
    }

    /** The element index of the second member of pair i. */
    public int second(int i) {
        return convention == Convention.ADJACENT ? 2 * i + 1 : i + rotaryDims / 2;
    }
}
