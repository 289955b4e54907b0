package dev.nexusquant.store.prefix;

import dev.nexusquant.codec.entropy.ByteShuffle;
import dev.nexusquant.codec.entropy.Zstd;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.PromptReplay;
import dev.nexusquant.store.CheckedValue;
import dev.nexusquant.store.KvStoreException;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a prefix store keeps for one chunk of a prompt: the forward pass's calls for its tokens ({@link ReplayCall}s:
 * rows appended, last queries attended), at the precision the cache holds them, so that replaying them gives the
 * cache the very state a prefill gives. Framed by {@link CheckedValue} (length + CRC32C); the payload, little-endian:
 * <pre>
 *   magic "NQPC" | format u32 | key (u16 length + ASCII) | start u32 | tokens u32 | layers u32 | kvDim u32 | qDim u32
 *   | halfRows u8 | halfQueries u8 | zstd u8 | 0 u8 | token ids [tokens] u32 | calls u32 | per call: start, n, m u32
 *   | rows bytes u32 | queries bytes u32 | body bytes u32 | body
 *   body = rows section ‖ queries section (each byte-shuffled, then both zstd-compressed when zstd = 1)
 *   rows section    = per call, per layer: keys [n][kvDim], values [n][kvDim]   (fp16 when halfRows, else fp32)
 *   queries section = per call, per layer: queries [m][qDim]                    (fp16 when halfQueries, else fp32)
 * </pre>
 * The key and the token ids are stored too, so that an entry found under another key (a hash collision, a store
 * shared by mistake) is refused rather than used.
 */
final class ChunkEntry {

    static final int MAGIC = 0x4350514E; // "NQPC" read as a little-endian u32

    private ChunkEntry() {
    }

    /** The stored form of the calls that prefilled {@code ids} (the chunk's tokens) from position {@code start}. */
    static byte[] encode(String key, int start, int[] ids, List<ReplayCall> calls, KvLayout layout, PromptReplay replay,
                         boolean zstd) {
        int layers = layout.layers(), kvDim = layout.kvDim(), qDim = layout.qDim();
        int rowBytes = replay.halfRows() ? 2 : 4, qBytes = replay.halfQueries() ? 2 : 4;
        long rowsLen = 0, qLen = 0;
        for (ReplayCall c : calls) {
            rowsLen += 2L * layers * c.n() * kvDim * rowBytes;
            qLen += (long) layers * c.m() * qDim * qBytes;
        }
        if (rowsLen + qLen > Integer.MAX_VALUE - 1024) throw new IllegalArgumentException("chunk entry too large");
        byte[] raw = new byte[(int) (rowsLen + qLen)];
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        for (ReplayCall c : calls) {
            for (int l = 0; l < layers; l++) {
                put(b, c.keys()[l], c.n() * kvDim, replay.halfRows());
                put(b, c.values()[l], c.n() * kvDim, replay.halfRows());
            }
        }
        for (ReplayCall c : calls) {
            for (int l = 0; l < layers; l++) put(b, c.queries()[l], c.m() * qDim, replay.halfQueries());
        }
        boolean compress = zstd && Zstd.available();
        byte[] body = raw;
        if (compress) {
            byte[] shuffled = new byte[raw.length];
            ByteShuffle.shuffle(raw, 0, (int) (rowsLen / rowBytes), rowBytes, shuffled, 0);
            ByteShuffle.shuffle(raw, (int) rowsLen, (int) (qLen / qBytes), qBytes, shuffled, (int) rowsLen);
            body = Zstd.compress(shuffled, 0, shuffled.length);
        }
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        int header = 4 + 4 + 2 + k.length + 5 * 4 + 4 + 4 * ids.length + 4 + 12 * calls.size() + 12;
        ByteBuffer out = ByteBuffer.allocate(header + body.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).putInt(ChunkKeys.FORMAT).putShort((short) k.length).put(k);
        out.putInt(start).putInt(ids.length).putInt(layers).putInt(kvDim).putInt(qDim);
        out.put((byte) (replay.halfRows() ? 1 : 0)).put((byte) (replay.halfQueries() ? 1 : 0)).put((byte) (compress ? 1 : 0)).put((byte) 0);
        for (int id : ids) out.putInt(id);
        out.putInt(calls.size());
        for (ReplayCall c : calls) out.putInt(c.start()).putInt(c.n()).putInt(c.m());
        out.putInt((int) rowsLen).putInt((int) qLen).putInt(body.length).put(body);
        return CheckedValue.wrap(out.array());
    }

    /**
     * The calls stored in {@code value}, checked against what the caller expects: the key, the start position, the
     * chunk's token ids, the model's shapes and the cache's replay precision. Anything else (damage, another format,
     * another model or cache) is a {@link KvStoreException} of kind CORRUPT saying what differs.
     */
    static List<ReplayCall> decode(byte[] value, String key, int start, int[] ids, KvLayout layout, PromptReplay replay)
            throws KvStoreException {
        byte[] p = CheckedValue.unwrap(value, "prefix entry " + key);
        try {
            ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN);
            expect(key, "magic", b.getInt(), MAGIC);
            expect(key, "format", b.getInt(), ChunkKeys.FORMAT);
            byte[] k = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(k);
            if (!key.equals(new String(k, StandardCharsets.US_ASCII))) throw bad(key, "it was stored for key " + new String(k, StandardCharsets.US_ASCII));
            expect(key, "start", b.getInt(), start);
            expect(key, "tokens", b.getInt(), ids.length);
            expect(key, "layers", b.getInt(), layout.layers());
            expect(key, "kvDim", b.getInt(), layout.kvDim());
            expect(key, "qDim", b.getInt(), layout.qDim());
            expect(key, "halfRows", b.get(), replay.halfRows() ? 1 : 0);
            expect(key, "halfQueries", b.get(), replay.halfQueries() ? 1 : 0);
            int compressed = b.get();
            b.get();
            for (int i = 0; i < ids.length; i++) {
                int id = b.getInt();
                if (id != ids[i]) throw bad(key, "token " + i + " is " + id + ", the prompt has " + ids[i]);
            }
            int count = b.getInt();
            if (count < 1 || count > ids.length) throw bad(key, count + " calls for " + ids.length + " tokens");
            int layers = layout.layers(), kvDim = layout.kvDim(), qDim = layout.qDim();
            int rowBytes = replay.halfRows() ? 2 : 4, qBytes = replay.halfQueries() ? 2 : 4;
            int[][] shape = new int[count][3];
            int at = start;
            long rowsLen = 0, qLen = 0;
            for (int i = 0; i < count; i++) {
                int s = b.getInt(), n = b.getInt(), m = b.getInt();
                if (s != at || n < 1 || at - start + (long) n > ids.length) throw bad(key, "call " + i + " covers positions that do not follow");
                if (m != Math.min(n, replay.queriesPerCall())) throw bad(key, "call " + i + " keeps " + m + " queries, the cache keeps " + Math.min(n, replay.queriesPerCall()));
                shape[i] = new int[]{s, n, m};
                at += n;
                rowsLen += 2L * layers * n * kvDim * rowBytes;
                qLen += (long) layers * m * qDim * qBytes;
            }
            if (at != start + ids.length) throw bad(key, "the calls cover " + (at - start) + " of " + ids.length + " tokens");
            expect(key, "rows bytes", b.getInt(), rowsLen);
            expect(key, "queries bytes", b.getInt(), qLen);
            int bodyLen = b.getInt();
            if (bodyLen != b.remaining()) throw bad(key, "body of " + bodyLen + " bytes, " + b.remaining() + " follow");
            byte[] raw = new byte[(int) (rowsLen + qLen)];
            if (compressed == 1) {
                byte[] shuffled = new byte[raw.length];
                try {
                    Zstd.decompress(p, b.position(), bodyLen, shuffled);
                } catch (IOException e) {
                    throw bad(key, "zstd: " + e.getMessage());
                }
                ByteShuffle.unshuffle(shuffled, 0, (int) (rowsLen / rowBytes), rowBytes, raw, 0);
                ByteShuffle.unshuffle(shuffled, (int) rowsLen, (int) (qLen / qBytes), qBytes, raw, (int) rowsLen);
            } else if (compressed == 0) {
                if (bodyLen != raw.length) throw bad(key, "raw body of " + bodyLen + " bytes, expected " + raw.length);
                b.get(raw);
            } else {
                throw bad(key, "unknown body coding " + compressed);
            }
            ByteBuffer r = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            List<ReplayCall> calls = new ArrayList<>(count);
            for (int[] s : shape) {
                ReplayCall c = new ReplayCall(s[0], s[1], s[2], new float[layers][], new float[layers][], new float[layers][]);
                for (int l = 0; l < layers; l++) {
                    c.keys()[l] = get(r, s[1] * kvDim, replay.halfRows());
                    c.values()[l] = get(r, s[1] * kvDim, replay.halfRows());
                }
                calls.add(c);
            }
            for (ReplayCall c : calls) {
                for (int l = 0; l < layers; l++) c.queries()[l] = get(r, c.m() * qDim, replay.halfQueries());
            }
            return calls;
        } catch (BufferUnderflowException | IndexOutOfBoundsException | NegativeArraySizeException e) {
            throw bad(key, "it ends early or its lengths do not add up (" + e + ")");
        }
    }

    private static void put(ByteBuffer b, float[] a, int n, boolean half) {
        if (a == null || a.length < n) throw new IllegalStateException("a recorded call is incomplete");
        if (half) {
            for (int i = 0; i < n; i++) b.putShort(Float.floatToFloat16(a[i]));
        } else {
            for (int i = 0; i < n; i++) b.putFloat(a[i]);
        }
    }

    private static float[] get(ByteBuffer b, int n, boolean half) {
        float[] a = new float[n];
        if (half) {
            for (int i = 0; i < n; i++) a[i] = Float.float16ToFloat(b.getShort());
        } else {
            for (int i = 0; i < n; i++) a[i] = b.getFloat();
        }
        return a;
    }

    private static void expect(String key, String what, long got, long want) throws KvStoreException {
        if (got != want) throw bad(key, what + " is " + got + ", expected " + want);
    }

    private static KvStoreException bad(String key, String why) {
        return new KvStoreException(KvStoreException.Kind.CORRUPT, "prefix entry " + key + " cannot be used: " + why);
    }

    static int[] slice(int[] a, int from, int to) {
        return Arrays.copyOfRange(a, from, to);
    }
}
