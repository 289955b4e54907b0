package dev.nexusquant.codec.container;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.rope.RopeParams;

import java.util.Arrays;
import java.util.List;

/**
 * What a compressed KV cache container describes about itself.
 *
 * @param layers           transformer layers, 1..65536
 * @param kvHeads          KV heads per layer, 1..65536
 * @param headDim          head dimension, 1..65536; every codec's dimension
 * @param tokensSeen       tokens the cache has seen (kept or evicted): positions are below it; 0..2^31-1
 * @param rotated          whether codes hold vectors rotated by a randomized Hadamard transform
 * @param rotationSeed     the seed of that rotation ({@link dev.nexusquant.codec.hadamard.HadamardRotation})
 * @param keyRope          the RoPE that was undone on keys before coding (keys stored pre-RoPE), or null when keys
 *                         are stored as the model produced them
 * @param windowFormat     how the full-precision window is stored
 * @param codecs           the codecs used, 1..255 of them
 * @param keyCodecOfLayer  {@code [layers]} index into codecs of each layer's key codec
 * @param valueCodecOfLayer {@code [layers]} index into codecs of each layer's value codec
 * @param hasMeans         whether every head carries a key mean and a value mean (vectors subtracted before coding)
 */
public record ContainerHeader(int layers, int kvHeads, int headDim, int tokensSeen, boolean rotated, long rotationSeed,
                              RopeParams keyRope, WindowFormat windowFormat, List<CodecDescriptor> codecs,
                              int[] keyCodecOfLayer, int[] valueCodecOfLayer, boolean hasMeans) {

    public static final int MAX_SHAPE = 65536;
    public static final int MAX_CODECS = 255;
    /** Most (layer, KV head) pairs a container may hold. */
    public static final long MAX_HEADS = 1L << 24;

    public ContainerHeader {
        if (layers < 1 || layers > MAX_SHAPE || kvHeads < 1 || kvHeads > MAX_SHAPE || headDim < 1 || headDim > MAX_SHAPE) {
            throw new IllegalArgumentException("ContainerHeader: layers, kvHeads, headDim must be in 1.." + MAX_SHAPE
                    + ": " + layers + ", " + kvHeads + ", " + headDim);
        }
        if ((long) layers * kvHeads > MAX_HEADS) {
            throw new IllegalArgumentException("ContainerHeader: " + (long) layers * kvHeads + " layer-heads exceed " + MAX_HEADS);
        }
        if (tokensSeen < 0) throw new IllegalArgumentException("ContainerHeader: tokensSeen < 0");
        if (windowFormat == null) throw new IllegalArgumentException("ContainerHeader: windowFormat is null");
        if (codecs == null || codecs.isEmpty() || codecs.size() > MAX_CODECS) {
            throw new IllegalArgumentException("ContainerHeader: 1.." + MAX_CODECS + " codecs needed");
        }
        codecs = List.copyOf(codecs);
        for (CodecDescriptor d : codecs) {
            if (d.dimension() != headDim) {
                throw new IllegalArgumentException("ContainerHeader: codec " + d.name() + " has dimension " + d.dimension() + ", headDim is " + headDim);
            }
        }
        if (keyRope != null && keyRope.rotaryDims() > headDim) {
            throw new IllegalArgumentException("ContainerHeader: rope rotaryDims " + keyRope.rotaryDims() + " > headDim " + headDim);
        }
        if (keyCodecOfLayer == null || valueCodecOfLayer == null || keyCodecOfLayer.length != layers || valueCodecOfLayer.length != layers) {
            throw new IllegalArgumentException("ContainerHeader: need a key and a value codec index per layer");
        }
        keyCodecOfLayer = keyCodecOfLayer.clone();
        valueCodecOfLayer = valueCodecOfLayer.clone();
        for (int l = 0; l < layers; l++) {
            if (keyCodecOfLayer[l] < 0 || keyCodecOfLayer[l] >= codecs.size() || valueCodecOfLayer[l] < 0 || valueCodecOfLayer[l] >= codecs.size()) {
                throw new IllegalArgumentException("ContainerHeader: codec index of layer " + l + " out of range");
            }
        }
    }

    /** One key codec and one value codec for every layer. */
    public static ContainerHeader uniform(int layers, int kvHeads, int headDim, int tokensSeen, boolean rotated,
                                          long rotationSeed, RopeParams keyRope, WindowFormat windowFormat,
                                          CodecDescriptor keyCodec, CodecDescriptor valueCodec, boolean hasMeans) {
        int[] k = new int[layers];
        int[] v = new int[layers];
        List<CodecDescriptor> codecs = keyCodec.equals(valueCodec) ? List.of(keyCodec) : List.of(keyCodec, valueCodec);
        Arrays.fill(v, codecs.size() - 1);
        return new ContainerHeader(layers, kvHeads, headDim, tokensSeen, rotated, rotationSeed, keyRope, windowFormat,
                codecs, k, v, hasMeans);
    }

    public CodecDescriptor keyCodec(int layer) {
        return codecs.get(keyCodecOfLayer[layer]);
    }

    public CodecDescriptor valueCodec(int layer) {
        return codecs.get(valueCodecOfLayer[layer]);
    }

    @Override
    public int[] keyCodecOfLayer() {
        return keyCodecOfLayer.clone();
    }

    @Override
    public int[] valueCodecOfLayer() {
        return valueCodecOfLayer.clone();
    }

    /** Values an fp16 cache of every seen token would hold: {@code tokensSeen * layers * kvHeads * headDim * 2}. */
    public long valuesSeen() {
        return (long) tokensSeen * layers * kvHeads * headDim * 2L;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ContainerHeader h && layers == h.layers && kvHeads == h.kvHeads && headDim == h.headDim
                && tokensSeen == h.tokensSeen && rotated == h.rotated && rotationSeed == h.rotationSeed
                && java.util.Objects.equals(keyRope, h.keyRope) && windowFormat == h.windowFormat
                && codecs.equals(h.codecs) && Arrays.equals(keyCodecOfLayer, h.keyCodecOfLayer)
                && Arrays.equals(valueCodecOfLayer, h.valueCodecOfLayer) && hasMeans == h.hasMeans;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(layers, kvHeads, headDim, tokensSeen, rotationSeed, codecs);
    }
}
