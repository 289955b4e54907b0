package dev.nexusquant.codec.container;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.entropy.ByteShuffle;
import dev.nexusquant.codec.entropy.Zstd;
import dev.nexusquant.codec.rope.RopeParams;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

import static dev.nexusquant.codec.container.ContainerFormat.*;

/**
 * Writes a {@link KvContainer} in the layout of {@link ContainerFormat}.
 *
 * <p>With {@link #RAW} every section is stored as is: the size is then exactly what {@link ContainerAccounting}
 * computes. With {@link #ZSTD} (the at-rest form) each section is byte-shuffled where that helps (codes, floats) and
 * compressed with zstd, and stored raw instead when compression would not make it smaller (or when zstd's native
 * library cannot be loaded on this platform: see {@link Zstd#available()}).
 */
public final class ContainerWriter {

    /** Whether sections are compressed, and at which zstd level (1..22). */
    public record Options(boolean zstd, int level) {
        public Options {
            if (level < 1 || level > 22) throw new IllegalArgumentException("ContainerWriter: zstd level must be 1..22: " + level);
        }
    }

    public static final Options RAW = new Options(false, Zstd.DEFAULT_LEVEL);
    /** zstd at its default level 3: the at-rest form (tens to hundreds of MB/s). */
    public static final Options ZSTD = new Options(true, Zstd.DEFAULT_LEVEL);
    /** zstd at level 19: a few percent smaller on code streams (BENCHMARKS.md), at a few MB/s. */
    public static final Options ZSTD_MAX = new Options(true, 19);

    /** The container's bytes with their breakdown: as stored, and as the sections were before compression. */
    public record Written(byte[] bytes, ContainerSize stored, ContainerSize raw) {
    }

    private ContainerWriter() {
    }

    public static byte[] write(KvContainer c, Options options) {
        return writeWithSizes(c, options).bytes();
    }

    public static Written writeWithSizes(KvContainer c, Options options) {
        c.validate();
        ContainerHeader h = c.header();
        byte[][] raw = sections(c);
        byte[][] stored = new byte[SECTIONS][];
        int[] encoding = new int[SECTIONS];
        int[] transform = new int[SECTIONS];
        for (int s = 0; s < SECTIONS; s++) {
            stored[s] = raw[s];
            if (options.zstd() && raw[s].length > 0 && Zstd.available()) {
                boolean shuffle = s != POSN && s != WPOS;
                byte[] input = shuffle ? shuffled(c, s, raw[s]) : raw[s];
                byte[] z = Zstd.compress(input, 0, input.length, options.level());
                if (z.length < raw[s].length) {
                    stored[s] = z;
                    encoding[s] = ENC_ZSTD;
                    transform[s] = shuffle ? TX_SHUFFLE : TX_NONE;
                }
            }
        }
        ByteWriter body = new ByteWriter(256);
        writeHeaderBody(body, h, raw, stored, encoding, transform);
        int bodyLength = body.size();
        if (bodyLength > MAX_HEADER) throw new IllegalArgumentException("ContainerWriter: header of " + bodyLength + " bytes exceeds " + MAX_HEADER);
        long total = PREFIX + bodyLength + 4L;
        for (byte[] s : stored) total += s.length;
        if (total > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("ContainerWriter: container of " + total + " bytes exceeds 2 GiB");
        ByteWriter out = new ByteWriter((int) total);
        out.u32(MAGIC);
        out.u16(VERSION);
        out.u16(0);
        out.u32(bodyLength);
        out.bytes(body.array(), 0, bodyLength);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.size());
        out.u32((int) crc.getValue());
        for (byte[] s : stored) out.bytes(s);
        long header = PREFIX + bodyLength + 4L;
        long[] storedLengths = new long[SECTIONS];
        long[] rawLengths = new long[SECTIONS];
        for (int s = 0; s < SECTIONS; s++) {
            storedLengths[s] = stored[s].length;
            rawLengths[s] = raw[s].length;
        }
        return new Written(out.toByteArray(), ContainerSize.of(header, storedLengths), ContainerSize.of(header, rawLengths));
    }

    private static void writeHeaderBody(ByteWriter b, ContainerHeader h, byte[][] raw, byte[][] stored, int[] encoding, int[] transform) {
        b.u32(h.layers());
        b.u32(h.kvHeads());
        b.u32(h.headDim());
        b.u32(h.tokensSeen());
        int flags = (h.rotated() ? FLAG_ROTATED : 0) | (h.keyRope() != null ? FLAG_PRE_ROPE : 0) | (h.hasMeans() ? FLAG_MEANS : 0);
        b.u8(flags);
        b.u64(h.rotationSeed());
        if (h.keyRope() != null) {
            RopeParams r = h.keyRope();
            b.u8(r.convention() == RopeParams.Convention.ADJACENT ? 0 : 1);
            b.f64(r.base());
            b.f64(r.linearScale());
            b.u32(r.rotaryDims());
        }
        b.u8(h.windowFormat().ordinal());
        b.u8(h.codecs().size());
        for (CodecDescriptor d : h.codecs()) {
            byte[] name = d.name().getBytes(StandardCharsets.US_ASCII);
            b.u8(name.length);
            b.bytes(name);
            b.u32(d.version());
            b.u32(d.dimension());
            b.u32(d.vectorsPerBlock());
            b.u32(d.bytesPerBlock());
            byte[] p = d.parameters();
            b.u16(p.length);
            b.bytes(p);
        }
        for (int l = 0; l < h.layers(); l++) {
            b.u8(h.keyCodecOfLayer()[l]);
            b.u8(h.valueCodecOfLayer()[l]);
        }
        b.u8(SECTIONS);
        for (int s = 0; s < SECTIONS; s++) {
            b.u32(tag(s));
            b.u8(encoding[s]);
            b.u8(transform[s]);
            b.u32(raw[s].length);
            b.u32(stored[s].length);
            CRC32C crc = new CRC32C();
            crc.update(stored[s]);
            b.u32((int) crc.getValue());
        }
    }

    /** The seven sections in raw form. */
    static byte[][] sections(KvContainer c) {
        ContainerHeader h = c.header();
        ByteWriter posn = new ByteWriter(1024), kcod = new ByteWriter(1024), vcod = new ByteWriter(1024);
        ByteWriter mean = new ByteWriter(16), wpos = new ByteWriter(16), wkey = new ByteWriter(16), wval = new ByteWriter(16);
        for (HeadEntry e : c.heads()) {
            positions(posn, e.positions());
            kcod.bytes(e.keyCodes());
            vcod.bytes(e.valueCodes());
            if (h.hasMeans()) {
                for (float v : e.keyMean()) mean.f32(v);
                for (float v : e.valueMean()) mean.f32(v);
            }
            positions(wpos, e.windowPositions());
            floats(wkey, e.windowKeys(), h.windowFormat());
            floats(wval, e.windowValues(), h.windowFormat());
        }
        return new byte[][]{posn.toByteArray(), kcod.toByteArray(), vcod.toByteArray(), mean.toByteArray(),
                wpos.toByteArray(), wkey.toByteArray(), wval.toByteArray()};
    }

    private static void positions(ByteWriter w, int[] p) {
        w.varint(p.length);
        int prev = -1;
        for (int v : p) {
            w.varint(v - prev - 1L);
            prev = v;
        }
    }

    private static void floats(ByteWriter w, float[] v, WindowFormat f) {
        for (float x : v) {
            if (f == WindowFormat.F32) w.f32(x);
            else w.u16(Float.floatToFloat16(x));
        }
    }

    /** The byte-shuffled form of a section (see {@link ContainerFormat}). */
    static byte[] shuffled(KvContainer c, int section, byte[] raw) {
        byte[] out = new byte[raw.length];
        if (section == KCOD || section == VCOD) {
            ContainerHeader h = c.header();
            int at = 0;
            for (int l = 0; l < h.layers(); l++) {
                CodecDescriptor d = section == KCOD ? h.keyCodec(l) : h.valueCodec(l);
                for (int k = 0; k < h.kvHeads(); k++) {
                    int records = (int) KvContainer.blocks(c.head(l, k).positions().length, d.vectorsPerBlock());
                    ByteShuffle.shuffle(raw, at, records, d.bytesPerBlock(), out, at);
                    at += records * d.bytesPerBlock();
                }
            }
        } else {
            int element = section == MEAN ? 4 : c.header().windowFormat().bytes();
            ByteShuffle.shuffle(raw, 0, raw.length / element, element, out, 0);
        }
        return out;
    }
}
