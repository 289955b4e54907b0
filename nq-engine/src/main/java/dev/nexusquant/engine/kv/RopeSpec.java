package dev.nexusquant.engine.kv;

/**
 * Rotary position embedding as GGML applies it.
 *
 * <p>For a head vector {@code x} at position {@code p}, pair {@code i} (of {@code rotaryDims / 2}) is rotated by the
 * angle {@code (p / linearScale) * base^(-2i / rotaryDims)}. The two conventions differ only in which elements
 * form pair {@code i}:
 * <ul>
 *   <li>{@link Style#ADJACENT} (GGML "normal", llama): elements {@code 2i} and {@code 2i + 1};</li>
 *   <li>{@link Style#HALVES} (GGML "neox", qwen2): elements {@code i} and {@code i + rotaryDims / 2}.</li>
 * </ul>
 * Elements at and past {@code rotaryDims} are not rotated.
 *
 * @param style       pairing convention
 * @param base        frequency base (theta), 10000 by default
 * @param linearScale positions are divided by this (1 means no scaling)
 * @param rotaryDims  number of leading head dimensions rotated (even; usually the whole head)
 */
public record RopeSpec(Style style, double base, double linearScale, int rotaryDims) {

    public enum Style { ADJACENT, HALVES }

    public RopeSpec {
        if (style == null) throw new IllegalArgumentException("RopeSpec: style is null");
        if (!(base > 1.0) || Double.isInfinite(base)) throw new IllegalArgumentException("RopeSpec: base must be > 1: " + base);
        if (!(linearScale > 0.0) || Double.isInfinite(linearScale)) {
            throw new IllegalArgumentException("RopeSpec: linearScale must be > 0: " + linearScale);
        }
        if (rotaryDims <= 0 || (rotaryDims & 1) != 0) {
            throw new IllegalArgumentException("RopeSpec: rotaryDims must be positive and even: " + rotaryDims);
        }
    }
}
