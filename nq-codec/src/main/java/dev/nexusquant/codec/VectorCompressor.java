package dev.nexusquant.codec;

import java.io.DataOutput;
import java.io.IOException;

/**
 * A fixed-rate compressor of vectors of one dimension, read where they are stored: the interface every KV-cache
 * codec implements (the E8 lattice codec here; q8_0, q4_0, fp8, KIVI and TurboQuant-style baselines elsewhere), in
 * the spirit of JVector's {@code VectorCompressor}.
 *
 * <p>Vectors are encoded in blocks of {@link #vectorsPerBlock()} (1 for codecs with per-vector parameters, such as
 * E8, q8_0 or fp8; for example 32 for KIVI's keys, whose per-channel scales span 32 tokens). A block always takes
 * {@link #bytesPerBlock()} bytes: codes, scales and any other parameter, all counted. Blocks live in caller-owned
 * byte arrays at caller-chosen offsets, so a cache can lay them out as it likes and account for every byte.
 *
 * <p>The four operations attention needs work on one vector of a stored block without materializing the others:
 * {@link #decode}, and the fused {@link #dot} (a query against a decoded vector) and {@link #axpy} (accumulate a
 * weighted decoded vector), which never build the decoded vector in memory.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface VectorCompressor {

    /** A short stable name of the method, for example {@code "e8"}; stored in containers. */
    String name();

    /** Version of the code layout and of {@link #writeParameters}; stored in containers. */
    int formatVersion();

    /** Dimension of the vectors. */
    int dimension();

    /** Vectors encoded together (they may share parameters); 1 unless the codec says otherwise. */
    default int vectorsPerBlock() {
        return 1;
    }

    /** Bytes of one encoded block of {@link #vectorsPerBlock()} vectors: every code, scale and parameter. */
    int bytesPerBlock();

    /** Stored bits per vector value, everything counted: {@code 8 * bytesPerBlock / (vectorsPerBlock * dimension)}. */
    default double bitsPerValue() {
        return 8.0 * bytesPerBlock() / ((double) vectorsPerBlock() * dimension());
    }

    /**
     * Encodes a block.
     *
     * @param x   {@code [vectorsPerBlock][dimension]} values starting at {@code xOff}
     * @param dst receives {@link #bytesPerBlock()} bytes at {@code dstOff}
     */
    void encodeBlock(float[] x, int xOff, byte[] dst, int dstOff);

    /**
     * Encodes {@code blocks} blocks stored back to back: the same bytes as that many calls of {@link #encodeBlock};
     * codecs that encode faster in batches override it.
     */
    default void encodeBlocks(float[] x, int xOff, int blocks, byte[] dst, int dstOff) {
        int values = vectorsPerBlock() * dimension();
        for (int b = 0; b < blocks; b++) encodeBlock(x, xOff + b * values, dst, dstOff + b * bytesPerBlock());
    }

    /** Writes vector {@code index} of the block at {@code block[blockOff]} to {@code out[outOff..outOff+dimension)}. */
    void decode(byte[] block, int blockOff, int index, float[] out, int outOff);

    /** {@code q[qOff..qOff+dimension) · decoded vector index}, without decoding it to memory. */
    float dot(float[] q, int qOff, byte[] block, int blockOff, int index);

    /** {@code acc[accOff..accOff+dimension) += w * decoded vector index}, without decoding it to memory. */
    void axpy(float w, byte[] block, int blockOff, int index, float[] acc, int accOff);

    /**
     * {@link #dot} by decoding vector {@code index} into a temporary array first: for codecs without a fused kernel
     * (the cache decodes rows a block at a time and does not call {@code dot} on its hot path).
     */
    static float dotByDecoding(VectorCompressor c, float[] q, int qOff, byte[] block, int blockOff, int index) {
        int dim = c.dimension();
        float[] x = new float[dim];
        c.decode(block, blockOff, index, x, 0);
        float s = 0f;
        for (int i = 0; i < dim; i++) s += q[qOff + i] * x[i];
        return s;
    }

    /** {@link #axpy} by decoding vector {@code index} into a temporary array first (see {@link #dotByDecoding}). */
    static void axpyByDecoding(VectorCompressor c, float w, byte[] block, int blockOff, int index, float[] acc, int accOff) {
        int dim = c.dimension();
        float[] x = new float[dim];
        c.decode(block, blockOff, index, x, 0);
        for (int i = 0; i < dim; i++) acc[accOff + i] += w * x[i];
    }

    /** Writes the parameters that recreate this compressor (see {@link CodecDescriptor}). */
    void writeParameters(DataOutput out) throws IOException;

    /** The name, version and parameters, as a container stores them. */
    default CodecDescriptor descriptor() {
        return CodecDescriptor.of(this);
    }

    /**
     * Reconstruction error of one block: encodes {@code x[xOff..)} ({@code [vectorsPerBlock][dimension]}), decodes it
     * and returns the sum of squared differences.
     */
    default double squaredError(float[] x, int xOff) {
        byte[] codes = new byte[bytesPerBlock()];
        encodeBlock(x, xOff, codes, 0);
        float[] out = new float[dimension()];
        double err = 0;
        for (int v = 0; v < vectorsPerBlock(); v++) {
            decode(codes, 0, v, out, 0);
            for (int i = 0; i < dimension(); i++) {
                double e = (double) x[xOff + v * dimension() + i] - out[i];
                err += e * e;
            }
        }
        return err;
    }
}
