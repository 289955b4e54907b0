package dev.nexusquant.codec.container;

/**
 * Bytes of a container by part: every header byte, position, code (scales included: they are part of each codec's
 * block), mean and window value is counted. {@link #bitsPerValue} and {@link #ratioVsFp16} compare the total with an
 * fp16 cache of every token seen, keys and values ({@link ContainerHeader#valuesSeen()}).
 */
public record ContainerSize(long header, long positions, long keyCodes, long valueCodes, long means,
                            long windowPositions, long windowKeys, long windowValues) {

    public long total() {
        return header + positions + keyCodes + valueCodes + means + windowPositions + windowKeys + windowValues;
    }

    /** Stored bits per value seen. */
    public double bitsPerValue(long valuesSeen) {
        return valuesSeen == 0 ? 0 : 8.0 * total() / valuesSeen;
    }

    /** fp16 bytes of every value seen divided by the total. */
    public double ratioVsFp16(long valuesSeen) {
        return 2.0 * valuesSeen / total();
    }

    static ContainerSize of(long header, long[] sections) {
        return new ContainerSize(header, sections[0], sections[1], sections[2], sections[3], sections[4], sections[5], sections[6]);
    }
}
