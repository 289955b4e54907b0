package dev.nexusquant.codec.container;

import java.util.List;

/**
 * A compressed KV cache as the container stores it: the header and one {@link HeadEntry} per layer and KV head, in
 * layer-major order ({@code heads.get(layer * kvHeads + head)}).
 *
 * <p>{@link #validate()} checks every size against the header (the writer calls it); the reader builds only valid
 * containers.
 */
public record KvContainer(ContainerHeader header, List<HeadEntry> heads) {

    public KvContainer {
        if (header == null || heads == null) throw new IllegalArgumentException("KvContainer: header and heads are required");
        heads = List.copyOf(heads);
    }

    public HeadEntry head(int layer, int head) {
        return heads.get(layer * header.kvHeads() + head);
    }

    /** Blocks that {@code kept} vectors occupy with a codec of {@code vectorsPerBlock}. */
    static long blocks(long kept, int vectorsPerBlock) {
        return (kept + vectorsPerBlock - 1) / vectorsPerBlock;
    }

    /** Checks every array size and every position against the header. */
    public void validate() {
        ContainerHeader h = header;
        if (heads.size() != h.layers() * h.kvHeads()) {
            throw new IllegalArgumentException("KvContainer: " + heads.size() + " heads, header says " + h.layers() * h.kvHeads());
        }
        for (int l = 0; l < h.layers(); l++) {
            for (int k = 0; k < h.kvHeads(); k++) {
                HeadEntry e = head(l, k);
                String where = "KvContainer: layer " + l + " head " + k + ": ";
                checkPositions(e.positions(), h.tokensSeen(), where + "positions");
                checkPositions(e.windowPositions(), h.tokensSeen(), where + "window positions");
                var kc = h.keyCodec(l);
                var vc = h.valueCodec(l);
                if (e.keyCodes().length != blocks(e.positions().length, kc.vectorsPerBlock()) * kc.bytesPerBlock()) {
                    throw new IllegalArgumentException(where + e.keyCodes().length + " key code bytes for " + e.positions().length + " tokens");
                }
                if (e.valueCodes().length != blocks(e.positions().length, vc.vectorsPerBlock()) * vc.bytesPerBlock()) {
                    throw new IllegalArgumentException(where + e.valueCodes().length + " value code bytes for " + e.positions().length + " tokens");
                }
                if (h.hasMeans() != (e.keyMean() != null)) throw new IllegalArgumentException(where + "means present must match the header");
                if (e.keyMean() != null && (e.keyMean().length != h.headDim() || e.valueMean().length != h.headDim())) {
                    throw new IllegalArgumentException(where + "means must have headDim values");
                }
                long w = (long) e.windowPositions().length * h.headDim();
                if (e.windowKeys().length != w || e.windowValues().length != w) {
                    throw new IllegalArgumentException(where + "window keys/values must be [" + e.windowPositions().length + "][" + h.headDim() + "]");
                }
            }
        }
    }

    private static void checkPositions(int[] p, int tokensSeen, String what) {
        for (int i = 0; i < p.length; i++) {
            if (p[i] < 0 || p[i] >= tokensSeen || (i > 0 && p[i] <= p[i - 1])) {
                throw new IllegalArgumentException(what + " must ascend inside [0, " + tokensSeen + ")");
            }
        }
    }
}
