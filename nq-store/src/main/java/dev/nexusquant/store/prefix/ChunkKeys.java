package dev.nexusquant.store.prefix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Store keys of a prompt's chunks: the prompt is cut into chunks of {@code chunkTokens} tokens from its start, and the
 * key of chunk {@code i} is a hash chain, as LMCache does:
 * <pre>
 *   h(-1) = SHA-256("nq-prefix" | format | model identity | cache settings | chunkTokens)
 *   h(i)  = SHA-256(h(i-1) | tokens of chunk i)          key(i) = "nqp-" + hex(first 20 bytes of h(i))
 * </pre>
 * so a key stands for the model, the compression settings and every token from the start of the prompt to the end of
 * its chunk. Two prompts that share a prefix (a system prompt, a document) share the keys of the chunks inside it, and
 * no chunk can be found for a prompt that differs anywhere before its end.
 */
public final class ChunkKeys {

    /** Bumped whenever what an entry holds, or how it is replayed, changes: old entries are then simply not found. */
    public static final int FORMAT = 1;

    private final byte[] root;
    private final int chunkTokens;

    /**
     * @param modelIdentity what identifies the model's forward pass (weights, shapes, kernels)
     * @param settings      the KV cache's settings ({@code KvCacheFactory.describe()})
     */
    public ChunkKeys(String modelIdentity, String settings, int chunkTokens) {
        if (chunkTokens <= 0) throw new IllegalArgumentException("chunk size must be positive: " + chunkTokens);
        this.chunkTokens = chunkTokens;
        MessageDigest sha = sha();
        field(sha, "nq-prefix");
        field(sha, Integer.toString(FORMAT));
        field(sha, modelIdentity);
        field(sha, settings);
        field(sha, Integer.toString(chunkTokens));
        this.root = sha.digest();
    }

    public int chunkTokens() {
        return chunkTokens;
    }

    /** Keys of the first {@code chunks} chunks of {@code tokens} (which must hold at least that many full chunks). */
    public String[] keys(int[] tokens, int chunks) {
        if (chunks < 0 || (long) chunks * chunkTokens > tokens.length) {
            throw new IllegalArgumentException(chunks + " chunks of " + chunkTokens + " tokens do not fit in " + tokens.length + " tokens");
        }
        String[] keys = new String[chunks];
        byte[] h = root;
        ByteBuffer buf = ByteBuffer.allocate(4 * chunkTokens).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < chunks; c++) {
            MessageDigest sha = sha();
            sha.update(h);
            buf.clear();
            for (int i = c * chunkTokens; i < (c + 1) * chunkTokens; i++) buf.putInt(tokens[i]);
            sha.update(buf.array(), 0, buf.position());
            h = sha.digest();
            keys[c] = "nqp-" + HexFormat.of().formatHex(h, 0, 20);
        }
        return keys;
    }

    /** Full chunks in a prompt of {@code tokens} tokens. */
    public int fullChunks(int tokens) {
        return tokens / chunkTokens;
    }

    private static void field(MessageDigest sha, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        sha.update(b);
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }
}
