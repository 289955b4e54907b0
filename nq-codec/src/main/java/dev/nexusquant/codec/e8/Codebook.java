package dev.nexusquant.codec.e8;

/**
 * A finite set of points in eight dimensions, addressed by a fixed number of bits: one stage of the fixed-rate E8
 * codec. Points are at "unit scale" (lattice units); the codec multiplies them by a scale.
 */
interface Codebook {

    /** Bits per code: 8 or 16. */
    int bits();

    /**
     * The code of the codebook point nearest to {@code z[zOff..zOff+8)}; the point itself is written to
     * {@code point[pOff..pOff+8)}.
     */
    int encode(float[] z, int zOff, float[] point, int pOff);

    /** Writes the point of {@code code} to {@code out[off..off+8)}. */
    void decode(int code, float[] out, int off);

    /** The largest squared norm of a point. */
    float maxNorm2();
}
