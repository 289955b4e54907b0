package dev.nexusquant.codec.container;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.entropy.Varint;

/**
 * The exact size of a container written {@link ContainerWriter#RAW}, computed from the data model alone (formulas,
 * not by writing): the bytes an in-memory cache of these codes, positions, means and windows costs with its
 * self-description. Tests check it against the bytes really written.
 */
public final class ContainerAccounting {

    private ContainerAccounting() {
    }

    public static ContainerSize rawSize(KvContainer c) {
        ContainerHeader h = c.header();
        long body = 4 * 4 + 1 + 8;
        if (h.keyRope() != null) body += 1 + 8 + 8 + 4;
        body += 1 + 1;
        for (CodecDescriptor d : h.codecs()) body += 1 + d.name().length() + 4 * 4 + 2 + d.parameters().length;
        body += 2L * h.layers();
        body += 1 + (long) ContainerFormat.SECTIONS * ContainerFormat.SECTION_ENTRY;
        long header = ContainerFormat.PREFIX + body + 4;
        long positions = 0, keyCodes = 0, valueCodes = 0, means = 0, windowPositions = 0, windowKeys = 0, windowValues = 0;
        for (int l = 0; l < h.layers(); l++) {
            CodecDescriptor kc = h.keyCodec(l);
            CodecDescriptor vc = h.valueCodec(l);
            for (int k = 0; k < h.kvHeads(); k++) {
                HeadEntry e = c.head(l, k);
                int n = e.positions().length;
                positions += positionBytes(e.positions());
                keyCodes += KvContainer.blocks(n, kc.vectorsPerBlock()) * kc.bytesPerBlock();
                valueCodes += KvContainer.blocks(n, vc.vectorsPerBlock()) * vc.bytesPerBlock();
                if (h.hasMeans()) means += 2L * h.headDim() * 4;
                windowPositions += positionBytes(e.windowPositions());
                long w = (long) e.windowPositions().length * h.headDim() * h.windowFormat().bytes();
                windowKeys += w;
                windowValues += w;
            }
        }
        return new ContainerSize(header, positions, keyCodes, valueCodes, means, windowPositions, windowKeys, windowValues);
    }

    /** A count and gaps, each an unsigned varint. */
    static long positionBytes(int[] p) {
        long n = Varint.size(p.length);
        int prev = -1;
        for (int v : p) {
            n += Varint.size(v - prev - 1L);
            prev = v;
        }
        return n;
    }
}
