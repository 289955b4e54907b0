package dev.nexusquant.codec;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * What a container records about a {@link VectorCompressor}: its name, its format version and its parameters (the
 * bytes written by {@link VectorCompressor#writeParameters}), enough to recreate it.
 *
 * @param name          the compressor's {@link VectorCompressor#name()}, at most 64 ASCII characters
 * @param version       its {@link VectorCompressor#formatVersion()}
 * @param dimension       its {@link VectorCompressor#dimension()}
 * @param vectorsPerBlock its {@link VectorCompressor#vectorsPerBlock()}
 * @param bytesPerBlock   its {@link VectorCompressor#bytesPerBlock()}, so that a reader can check sizes without it
 * @param parameters      the parameter bytes, at most 4096
 */
public record CodecDescriptor(String name, int version, int dimension, int vectorsPerBlock, int bytesPerBlock,
                              byte[] parameters) {

    public static final int MAX_NAME = 64;
    public static final int MAX_PARAMETERS = 4096;

    public CodecDescriptor {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME || !name.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IllegalArgumentException("CodecDescriptor: name must be 1.." + MAX_NAME + " printable ASCII characters: " + name);
        }
        if (version < 0) throw new IllegalArgumentException("CodecDescriptor: version < 0: " + version);
        if (dimension <= 0) throw new IllegalArgumentException("CodecDescriptor: dimension <= 0: " + dimension);
        if (bytesPerBlock <= 0) throw new IllegalArgumentException("CodecDescriptor: bytesPerBlock <= 0: " + bytesPerBlock);
        if (vectorsPerBlock <= 0) throw new IllegalArgumentException("CodecDescriptor: vectorsPerBlock <= 0: " + vectorsPerBlock);
        if (parameters == null || parameters.length > MAX_PARAMETERS) {
            throw new IllegalArgumentException("CodecDescriptor: parameters missing or longer than " + MAX_PARAMETERS);
        }
        parameters = parameters.clone();
    }

    public static CodecDescriptor of(VectorCompressor c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            c.writeParameters(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new CodecDescriptor(c.name(), c.formatVersion(), c.dimension(), c.vectorsPerBlock(), c.bytesPerBlock(),
                bytes.toByteArray());
    }

    @Override
    public byte[] parameters() {
        return parameters.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodecDescriptor d && name.equals(d.name) && version == d.version
                && dimension == d.dimension && bytesPerBlock == d.bytesPerBlock && vectorsPerBlock == d.vectorsPerBlock
                && Arrays.equals(parameters, d.parameters);
    }

    @Override
    public int hashCode() {
        return ((name.hashCode() * 31 + version) * 31 + bytesPerBlock) * 31 + Arrays.hashCode(parameters);
    }

    @Override
    public String toString() {
        return "CodecDescriptor[" + name + " v" + version + ", dim " + dimension + ", " + bytesPerBlock + " bytes per " + vectorsPerBlock
                + " vector(s), parameters " + HexFormat.of().formatHex(parameters) + "]";
    }
}
