package dev.nexusquant.engine.model;

import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Which model a saved session belongs to: the architecture and shapes, and a SHA-256 over every tensor's name, type,
 * shape and offset plus the first and last 64 bytes of its data (the weights' metadata and samples of the weights,
 * read in microseconds rather than hashing the whole file). Two models with equal identities run the same forward
 * pass for all practical purposes; a session saved from one is refused by any other, naming what differs.
 *
 * @param architecture the GGUF architecture key ({@code "llama"}, {@code "qwen2"})
 * @param weights      [32] the SHA-256 described above
 */
public record ModelIdentity(String architecture, int layers, int dim, int heads, int kvHeads, int headDim, int ffnDim,
                            int vocabSize, int contextLength, byte[] weights) {

    /** Bytes of tensor data sampled at each end. */
    static final int SAMPLE = 64;

    public ModelIdentity {
        if (weights == null || weights.length != 32) throw new IllegalArgumentException("ModelIdentity: weights hash must be 32 bytes");
        weights = weights.clone();
    }

    @Override
    public byte[] weights() {
        return weights.clone();
    }

    /** The identity of a loaded model. */
    public static ModelIdentity of(ModelConfig c, GgufFile file) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        String shape = c.architecture().key + "|" + c.layers() + "|" + c.dim() + "|" + c.heads() + "|" + c.kvHeads() + "|"
                + c.headDim() + "|" + c.ffnDim() + "|" + c.vocabSize() + "|" + c.contextLength() + "|" + c.rope() + "|"
                + Float.floatToRawIntBits(c.rmsEps()) + "|" + c.qkvBias() + "|" + c.tiedOutput();
        update(sha, shape);
        List<GgufTensorInfo> tensors = new ArrayList<>(file.tensors().values());
        tensors.sort((a, b) -> a.name().compareTo(b.name()));
        for (GgufTensorInfo t : tensors) {
            update(sha, t.name() + "|" + t.type().name() + "|" + Arrays.toString(t.dims()) + "|" + t.offset());
            MemorySegment d = t.data();
            long size = d.byteSize();
            long head = Math.min(SAMPLE, size), tailFrom = Math.max(head, size - SAMPLE);
            sha.update(d.asSlice(0, head).toArray(ValueLayout.JAVA_BYTE));
            sha.update(d.asSlice(tailFrom, size - tailFrom).toArray(ValueLayout.JAVA_BYTE));
        }
        return new ModelIdentity(c.architecture().key, c.layers(), c.dim(), c.heads(), c.kvHeads(), c.headDim(),
                c.ffnDim(), c.vocabSize(), c.contextLength(), sha.digest());
    }

    private static void update(MessageDigest sha, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        sha.update(new byte[]{(byte) b.length, (byte) (b.length >>> 8), (byte) (b.length >>> 16), (byte) (b.length >>> 24)});
        sha.update(b);
    }

    /** The weights hash in hex. */
    public String weightsHex() {
        return HexFormat.of().formatHex(weights);
    }

    /**
     * What differs between {@code this} (the saved session's model) and {@code other} (the model restoring it), one
     * item per field, or an empty string when they are equal.
     */
    public String differences(ModelIdentity other) {
        List<String> d = new ArrayList<>();
        if (!architecture.equals(other.architecture)) d.add("architecture " + architecture + " vs " + other.architecture);
        diff(d, "layers", layers, other.layers);
        diff(d, "dim", dim, other.dim);
        diff(d, "heads", heads, other.heads);
        diff(d, "kvHeads", kvHeads, other.kvHeads);
        diff(d, "headDim", headDim, other.headDim);
        diff(d, "ffnDim", ffnDim, other.ffnDim);
        diff(d, "vocabSize", vocabSize, other.vocabSize);
        diff(d, "contextLength", contextLength, other.contextLength);
        if (!Arrays.equals(weights, other.weights)) {
            d.add("weights hash " + weightsHex().substring(0, 16) + "… vs " + other.weightsHex().substring(0, 16) + "…");
        }
        return String.join(", ", d);
    }

    private static void diff(List<String> d, String name, int a, int b) {
        if (a != b) d.add(name + " " + a + " vs " + b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelIdentity m && differences(m).isEmpty();
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(weights);
    }

    @Override
    public String toString() {
        return "ModelIdentity[" + architecture + ", " + layers + " layers, dim " + dim + ", heads " + heads + "/" + kvHeads
                + ", headDim " + headDim + ", ffn " + ffnDim + ", vocab " + vocabSize + ", ctx " + contextLength
                + ", weights " + weightsHex().substring(0, 16) + "…]";
    }
}
