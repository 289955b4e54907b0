package dev.nexusquant.codec.container;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.entropy.ByteShuffle;
import dev.nexusquant.codec.entropy.Zstd;
import dev.nexusquant.codec.rope.RopeParams;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

import static dev.nexusquant.codec.container.ContainerFormat.*;

/**
 * Reads a {@link KvContainer} written by {@link ContainerWriter}. Every problem, whatever the input, ends in a
 * {@link CorruptContainerException} that names the field: every count and length is checked against the bytes that
 * remain (and against {@link #maxSectionBytes}) before anything is allocated, the header and each section are
 * checked against their CRC32C before they are decoded, and the container must end exactly after its last section.
 */
public final class ContainerReader {

    private final long maxSectionBytes;

    /** A reader that refuses containers whose sections would decode to more than {@code maxSectionBytes} in all. */
    public ContainerReader(long maxSectionBytes) {
        if (maxSectionBytes <= 0) throw new IllegalArgumentException("ContainerReader: maxSectionBytes must be positive");
        this.maxSectionBytes = Math.min(maxSectionBytes, Integer.MAX_VALUE - 16);
    }

    /** A reader whose limit on decoded section bytes is 1 GiB or a quarter of the maximum heap, whichever is smaller. */
    public ContainerReader() {
        this(Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4));
    }

    public static KvContainer read(byte[] data) throws CorruptContainerException {
        return new ContainerReader().parse(data);
    }

    public KvContainer read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) throw new CorruptContainerException("file", "is " + size + " bytes, more than 2 GiB");
        return parse(Files.readAllBytes(file));
    }

    public KvContainer parse(byte[] data) throws CorruptContainerException {
        ByteReader r = new ByteReader(data, 0, data.length, "prefix");
        int magic = r.u32("magic");
        if (magic != MAGIC) throw new CorruptContainerException("magic", String.format("0x%08x is not \"NQKV\"", magic));
        int version = r.u16("version");
        if (version != VERSION) throw new CorruptContainerException("version", version + " is not supported (this reader reads " + VERSION + ")");
        int reserved = r.u16("reserved");
        if (reserved != 0) throw new CorruptContainerException("reserved", "must be 0, is " + reserved);
        int bodyLength = r.u32In("headerLength", 0, Math.min(MAX_HEADER, Math.max(0, data.length - PREFIX - 4)));
        CRC32C crc = new CRC32C();
        crc.update(data, 0, PREFIX + bodyLength);
        int stored = new ByteReader(data, PREFIX + bodyLength, PREFIX + bodyLength + 4, "prefix").u32("headerCrc");
        if (stored != (int) crc.getValue()) throw new CorruptContainerException("headerCrc", "header checksum mismatch");

        ByteReader b = new ByteReader(data, PREFIX, PREFIX + bodyLength, "header");
        int layers = b.u32In("layers", 1, ContainerHeader.MAX_SHAPE);
        int kvHeads = b.u32In("kvHeads", 1, ContainerHeader.MAX_SHAPE);
        int headDim = b.u32In("headDim", 1, ContainerHeader.MAX_SHAPE);
        int tokensSeen = b.u32In("tokensSeen", 0, Integer.MAX_VALUE);
        int flags = b.u8("flags");
        if ((flags & ~(FLAG_ROTATED | FLAG_PRE_ROPE | FLAG_MEANS)) != 0) throw new CorruptContainerException("header.flags", "unknown bits " + flags);
        long seed = b.u64("rotationSeed");
        RopeParams rope = null;
        if ((flags & FLAG_PRE_ROPE) != 0) {
            int conv = b.u8("rope.convention");
            if (conv > 1) throw new CorruptContainerException("header.rope.convention", "unknown convention " + conv);
            double base = b.f64("rope.base");
            double scale = b.f64("rope.linearScale");
            int dims = b.u32In("rope.rotaryDims", 2, headDim);
            try {
                rope = new RopeParams(conv == 0 ? RopeParams.Convention.ADJACENT : RopeParams.Convention.HALVES, base, scale, dims);
            } catch (IllegalArgumentException e) {
                throw new CorruptContainerException("header.rope", e.getMessage());
            }
        }
        int wf = b.u8("windowFormat");
        if (wf >= WindowFormat.values().length) throw new CorruptContainerException("header.windowFormat", "unknown format " + wf);
        WindowFormat windowFormat = WindowFormat.values()[wf];
        int codecCount = b.u8("codecCount");
        if (codecCount < 1) throw new CorruptContainerException("header.codecCount", "must be at least 1");
        List<CodecDescriptor> codecs = new ArrayList<>(codecCount);
        for (int i = 0; i < codecCount; i++) {
            String f = "codec[" + i + "]";
            int nameLength = b.u8(f + ".nameLength");
            byte[] name = b.bytes(f + ".name", nameLength);
            int cv = b.u32In(f + ".version", 0, Integer.MAX_VALUE);
            int dim = b.u32In(f + ".dimension", headDim, headDim);
            int vpb = b.u32In(f + ".vectorsPerBlock", 1, Integer.MAX_VALUE);
            int bpb = b.u32In(f + ".bytesPerBlock", 1, Integer.MAX_VALUE);
            int paramLength = b.u16(f + ".parameterLength");
            if (paramLength > CodecDescriptor.MAX_PARAMETERS) throw new CorruptContainerException("header." + f + ".parameterLength", paramLength + " exceeds " + CodecDescriptor.MAX_PARAMETERS);
            byte[] params = b.bytes(f + ".parameters", paramLength);
            try {
                codecs.add(new CodecDescriptor(new String(name, StandardCharsets.US_ASCII), cv, dim, vpb, bpb, params));
            } catch (IllegalArgumentException e) {
                throw new CorruptContainerException("header." + f, e.getMessage());
            }
        }
        if (b.remaining() < 2L * layers) throw new CorruptContainerException("header.layerCodecs", "needs " + 2L * layers + " bytes, " + b.remaining() + " left (truncated)");
        int[] keyOf = new int[layers];
        int[] valueOf = new int[layers];
        for (int l = 0; l < layers; l++) {
            keyOf[l] = b.u8("layerCodecs");
            valueOf[l] = b.u8("layerCodecs");
            if (keyOf[l] >= codecCount || valueOf[l] >= codecCount) {
                throw new CorruptContainerException("header.layerCodecs", "layer " + l + " names a codec beyond the " + codecCount + " listed");
            }
        }
        int sections = b.u8("sectionCount");
        if (sections != SECTIONS) throw new CorruptContainerException("header.sectionCount", sections + " sections, expected " + SECTIONS);
        int[] encoding = new int[SECTIONS], transform = new int[SECTIONS], rawLength = new int[SECTIONS], storedLength = new int[SECTIONS], sectionCrc = new int[SECTIONS];
        long payload = 0;
        for (int s = 0; s < SECTIONS; s++) {
            String f = "section[" + NAMES[s] + "]";
            int tag = b.u32(f + ".tag");
            if (tag != tag(s)) throw new CorruptContainerException("header." + f + ".tag", "wrong tag");
            encoding[s] = b.u8(f + ".encoding");
            transform[s] = b.u8(f + ".transform");
            if (encoding[s] > ENC_ZSTD || transform[s] > TX_SHUFFLE || (encoding[s] == ENC_RAW && transform[s] != TX_NONE)
                    || (transform[s] == TX_SHUFFLE && (s == POSN || s == WPOS))) {
                throw new CorruptContainerException("header." + f, "unknown encoding " + encoding[s] + " / transform " + transform[s]);
            }
            rawLength[s] = b.u32In(f + ".rawLength", 0, maxSectionBytes);
            storedLength[s] = b.u32In(f + ".storedLength", 0, Integer.MAX_VALUE);
            if (encoding[s] == ENC_RAW && storedLength[s] != rawLength[s]) {
                throw new CorruptContainerException("header." + f + ".storedLength", "raw section: stored " + storedLength[s] + " != raw " + rawLength[s]);
            }
            sectionCrc[s] = b.u32(f + ".crc");
            payload += storedLength[s];
        }
        b.expectEnd();
        long totalRaw = 0;
        for (int v : rawLength) totalRaw += v;
        if (totalRaw > maxSectionBytes) {
            throw new CorruptContainerException("header.sections", "sections would decode to " + totalRaw + " bytes, more than the limit " + maxSectionBytes);
        }
        long expected = PREFIX + bodyLength + 4L + payload;
        if (expected != data.length) {
            throw new CorruptContainerException("length", "sections end at byte " + expected + ", the container has " + data.length
                    + (expected > data.length ? " (truncated)" : " (extra bytes at the end)"));
        }
        ContainerHeader header;
        try {
            header = new ContainerHeader(layers, kvHeads, headDim, tokensSeen, (flags & FLAG_ROTATED) != 0, seed, rope,
                    windowFormat, codecs, keyOf, valueOf, (flags & FLAG_MEANS) != 0);
        } catch (IllegalArgumentException e) {
            throw new CorruptContainerException("header", e.getMessage());
        }

        // sections: checksum, decompress, undo the transform
        byte[][] raw = new byte[SECTIONS][];
        int at = PREFIX + bodyLength + 4;
        for (int s = 0; s < SECTIONS; s++) {
            String f = "section[" + NAMES[s] + "]";
            CRC32C c = new CRC32C();
            c.update(data, at, storedLength[s]);
            if ((int) c.getValue() != sectionCrc[s]) throw new CorruptContainerException(f + ".crc", "checksum mismatch");
            if (encoding[s] == ENC_RAW) {
                raw[s] = java.util.Arrays.copyOfRange(data, at, at + storedLength[s]);
            } else {
                raw[s] = new byte[rawLength[s]];
                try {
                    Zstd.decompress(data, at, storedLength[s], raw[s]);
                } catch (IOException e) {
                    throw new CorruptContainerException(f, e.getMessage(), e);
                }
            }
            at += storedLength[s];
        }
        return decodeSections(header, raw, transform);
    }

    private KvContainer decodeSections(ContainerHeader h, byte[][] raw, int[] transform) throws CorruptContainerException {
        int heads = h.layers() * h.kvHeads();
        // positions first: they give every other section's size
        int[][] positions = readPositions(raw[POSN], heads, h.tokensSeen(), "section[POSN]");
        int[][] window = readPositions(raw[WPOS], heads, h.tokensSeen(), "section[WPOS]");
        long keyBytes = 0, valueBytes = 0, windowValues = 0;
        for (int l = 0; l < h.layers(); l++) {
            for (int k = 0; k < h.kvHeads(); k++) {
                int n = positions[l * h.kvHeads() + k].length;
                keyBytes += KvContainer.blocks(n, h.keyCodec(l).vectorsPerBlock()) * h.keyCodec(l).bytesPerBlock();
                valueBytes += KvContainer.blocks(n, h.valueCodec(l).vectorsPerBlock()) * h.valueCodec(l).bytesPerBlock();
                windowValues += (long) window[l * h.kvHeads() + k].length * h.headDim();
            }
        }
        long meanBytes = h.hasMeans() ? (long) heads * 2 * h.headDim() * 4 : 0;
        long windowBytes = windowValues * h.windowFormat().bytes();
        expectLength(raw[KCOD], keyBytes, "section[KCOD]");
        expectLength(raw[VCOD], valueBytes, "section[VCOD]");
        expectLength(raw[MEAN], meanBytes, "section[MEAN]");
        expectLength(raw[WKEY], windowBytes, "section[WKEY]");
        expectLength(raw[WVAL], windowBytes, "section[WVAL]");
        byte[] kcod = raw[KCOD], vcod = raw[VCOD], mean = raw[MEAN], wkey = raw[WKEY], wval = raw[WVAL];
        if (transform[KCOD] == TX_SHUFFLE) kcod = unshuffleCodes(h, positions, kcod, true);
        if (transform[VCOD] == TX_SHUFFLE) vcod = unshuffleCodes(h, positions, vcod, false);
        if (transform[MEAN] == TX_SHUFFLE) mean = unshuffle(mean, 4);
        if (transform[WKEY] == TX_SHUFFLE) wkey = unshuffle(wkey, h.windowFormat().bytes());
        if (transform[WVAL] == TX_SHUFFLE) wval = unshuffle(wval, h.windowFormat().bytes());

        List<HeadEntry> entries = new ArrayList<>(heads);
        ByteReader kr = new ByteReader(kcod, 0, kcod.length, "section[KCOD]");
        ByteReader vr = new ByteReader(vcod, 0, vcod.length, "section[VCOD]");
        ByteReader mr = new ByteReader(mean, 0, mean.length, "section[MEAN]");
        ByteReader wkr = new ByteReader(wkey, 0, wkey.length, "section[WKEY]");
        ByteReader wvr = new ByteReader(wval, 0, wval.length, "section[WVAL]");
        for (int l = 0; l < h.layers(); l++) {
            CodecDescriptor kc = h.keyCodec(l), vc = h.valueCodec(l);
            for (int k = 0; k < h.kvHeads(); k++) {
                int i = l * h.kvHeads() + k;
                int n = positions[i].length;
                byte[] keyCodes = kr.bytes("codes", (int) (KvContainer.blocks(n, kc.vectorsPerBlock()) * kc.bytesPerBlock()));
                byte[] valueCodes = vr.bytes("codes", (int) (KvContainer.blocks(n, vc.vectorsPerBlock()) * vc.bytesPerBlock()));
                float[] km = null, vm = null;
                if (h.hasMeans()) {
                    km = f32s(mr, h.headDim());
                    vm = f32s(mr, h.headDim());
                }
                int w = window[i].length * h.headDim();
                float[] wk = h.windowFormat() == WindowFormat.F32 ? f32s(wkr, w) : f16s(wkr, w);
                float[] wv = h.windowFormat() == WindowFormat.F32 ? f32s(wvr, w) : f16s(wvr, w);
                entries.add(new HeadEntry(positions[i], keyCodes, valueCodes, km, vm, window[i], wk, wv));
            }
        }
        kr.expectEnd();
        vr.expectEnd();
        mr.expectEnd();
        wkr.expectEnd();
        wvr.expectEnd();
        KvContainer c = new KvContainer(h, entries);
        try {
            c.validate();
        } catch (IllegalArgumentException e) {
            throw new CorruptContainerException("content", e.getMessage());
        }
        return c;
    }

    private static void expectLength(byte[] section, long expected, String name) throws CorruptContainerException {
        if (section.length != expected) {
            throw new CorruptContainerException(name + ".rawLength", section.length + " bytes, the positions and codecs need " + expected);
        }
    }

    /** Per head: a count and ascending positions below tokensSeen, as varint gaps. */
    private static int[][] readPositions(byte[] section, int heads, int tokensSeen, String name) throws CorruptContainerException {
        // every head needs at least its count byte: check before allocating the table
        if (section.length < heads) throw new CorruptContainerException(name, section.length + " bytes cannot hold " + heads + " counts (truncated)");
        ByteReader r = new ByteReader(section, 0, section.length, name);
        int[][] out = new int[heads][];
        for (int i = 0; i < heads; i++) {
            int n = r.varint("count", tokensSeen);
            if (n > r.remaining()) throw new CorruptContainerException(name + ".count", n + " positions cannot fit in " + r.remaining() + " bytes");
            int[] p = new int[n];
            long prev = -1;
            for (int j = 0; j < n; j++) {
                long v = prev + 1 + r.varint("gap", Integer.MAX_VALUE);
                if (v >= tokensSeen) throw new CorruptContainerException(name + ".gap", "position " + v + " is not below tokensSeen " + tokensSeen);
                p[j] = (int) v;
                prev = v;
            }
            out[i] = p;
        }
        r.expectEnd();
        return out;
    }

    private static byte[] unshuffleCodes(ContainerHeader h, int[][] positions, byte[] shuffled, boolean keys) {
        byte[] out = new byte[shuffled.length];
        int at = 0;
        for (int l = 0; l < h.layers(); l++) {
            CodecDescriptor d = keys ? h.keyCodec(l) : h.valueCodec(l);
            for (int k = 0; k < h.kvHeads(); k++) {
                int records = (int) KvContainer.blocks(positions[l * h.kvHeads() + k].length, d.vectorsPerBlock());
                ByteShuffle.unshuffle(shuffled, at, records, d.bytesPerBlock(), out, at);
                at += records * d.bytesPerBlock();
            }
        }
        return out;
    }

    private static byte[] unshuffle(byte[] shuffled, int element) {
        byte[] out = new byte[shuffled.length];
        ByteShuffle.unshuffle(shuffled, 0, shuffled.length / element, element, out, 0);
        return out;
    }

    private static float[] f32s(ByteReader r, int n) throws CorruptContainerException {
        if (4L * n > r.remaining()) throw new CorruptContainerException("floats", "needs " + 4L * n + " bytes, " + r.remaining() + " left");
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.f32("float");
        return v;
    }

    private static float[] f16s(ByteReader r, int n) throws CorruptContainerException {
        if (2L * n > r.remaining()) throw new CorruptContainerException("floats", "needs " + 2L * n + " bytes, " + r.remaining() + " left");
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Float.float16ToFloat((short) r.u16("half"));
        return v;
    }
}
