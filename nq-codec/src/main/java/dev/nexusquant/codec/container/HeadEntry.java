package dev.nexusquant.codec.container;

import java.util.Arrays;

/**
 * The compressed cache of one layer and KV head.
 *
 * @param positions       {@code [kept]} original positions of the compressed tokens, ascending
 * @param keyCodes        {@code [ceil(kept / vectorsPerBlock)][bytesPerBlock]} of the layer's key codec
 * @param valueCodes      the same for the value codec
 * @param keyMean         {@code [headDim]} subtracted from keys before coding, or null (see
 *                        {@link ContainerHeader#hasMeans()})
 * @param valueMean       {@code [headDim]} subtracted from values before coding, or null
 * @param windowPositions {@code [w]} positions of the full-precision window, ascending (often the last w tokens)
 * @param windowKeys      {@code [w][headDim]} keys of the window as the model produced them
 * @param windowValues    {@code [w][headDim]} values of the window
 */
public record HeadEntry(int[] positions, byte[] keyCodes, byte[] valueCodes, float[] keyMean, float[] valueMean,
                        int[] windowPositions, float[] windowKeys, float[] windowValues) {

    public HeadEntry {
        if (positions == null || keyCodes == null || valueCodes == null || windowPositions == null
                || windowKeys == null || windowValues == null) {
            throw new IllegalArgumentException("HeadEntry: only the means may be null");
        }
        if ((keyMean == null) != (valueMean == null)) throw new IllegalArgumentException("HeadEntry: give both means or neither");
    }

    /** An entry without means and without a window. */
    public static HeadEntry of(int[] positions, byte[] keyCodes, byte[] valueCodes) {
        return new HeadEntry(positions, keyCodes, valueCodes, null, null, new int[0], new float[0], new float[0]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadEntry e && Arrays.equals(positions, e.positions) && Arrays.equals(keyCodes, e.keyCodes)
                && Arrays.equals(valueCodes, e.valueCodes) && floatsEqual(keyMean, e.keyMean)
                && floatsEqual(valueMean, e.valueMean) && Arrays.equals(windowPositions, e.windowPositions)
                && floatsEqual(windowKeys, e.windowKeys) && floatsEqual(windowValues, e.windowValues);
    }

    /** Bit-for-bit equality (NaN payloads and signed zeros included). */
    private static boolean floatsEqual(float[] a, float[] b) {
        if (a == null || b == null) return a == b;
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) return false;
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(positions) * 31 + Arrays.hashCode(keyCodes);
    }

    @Override
    public String toString() {
        return "HeadEntry[kept=" + positions.length + ", keyCodes=" + keyCodes.length + "B, valueCodes=" + valueCodes.length
                + "B, means=" + (keyMean != null) + ", window=" + windowPositions.length + "]";
    }
}
