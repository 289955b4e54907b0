package dev.nexusquant.codec.container;

/** How the full-precision window is stored: raw float32 bits (bit-exact) or fp16 (rounded to nearest even). */
public enum WindowFormat {
    F32(4), F16(2);

    private final int bytes;

    WindowFormat(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per value. */
    public int bytes() {
        return bytes;
    }
}
