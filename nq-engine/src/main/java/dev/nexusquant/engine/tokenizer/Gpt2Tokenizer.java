package dev.nexusquant.engine.tokenizer;

import dev.nexusquant.engine.gguf.GgufException;
import dev.nexusquant.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 byte-level BPE ({@code tokenizer.ggml.model = gpt2}), as used by Llama 3 and Qwen2.
 *
 * <p>Encoding: split the text with the pre-tokenizer's regular expression ({@code tokenizer.ggml.pre}: Llama 3's
 * {@code llama-bpe}, Qwen2's {@code qwen2}, or GPT-2's), map each piece's UTF-8 bytes to printable characters (GPT-2's
 * byte-to-unicode table), then merge adjacent symbols by the rank of their pair in {@code tokenizer.ggml.merges}
 * (lowest rank first, leftmost first). Llama 3 looks a whole piece up in the vocabulary before merging
 * ({@code ignore_merges}).
 */
public final class Gpt2Tokenizer extends Vocabulary {

    /** The pre-tokenizer splits of the supported families. */
    public enum PreTokenizer {
        GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", false),
        LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", true),
        QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", false);

        final Pattern pattern;
        final boolean ignoreMerges;

        PreTokenizer(String regex, boolean ignoreMerges) {
            this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
            this.ignoreMerges = ignoreMerges;
        }

        /** The pre-tokenizer named by {@code tokenizer.ggml.pre}. */
        public static PreTokenizer of(String name) {
            if (name == null) return GPT2;
            return switch (name) {
                case "llama-bpe", "llama3", "llama-v3", "smaug-bpe", "falcon3", "pixtral" -> LLAMA3;
                case "qwen2", "deepseek-r1-qwen", "qwen35" -> QWEN2;
                default -> GPT2;
            };
        }
    }

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to 256, 257, ...
        Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private final Map<String, Integer> mergeRanks;
    private final PreTokenizer pre;

    Gpt2Tokenizer(String[] tokens, int[] types, String[] merges, int bos, int eos, PreTokenizer pre) {
        super(tokens, types, bytesOf(tokens, types), bos, eos);
        this.pre = pre;
        this.mergeRanks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) mergeRanks.putIfAbsent(merges[i], i);
    }

    /** The bytes each token stands for. */
    private static byte[][] bytesOf(String[] tokens, int[] types) {
        byte[][] bytes = new byte[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            bytes[i] = types[i] == TYPE_CONTROL || types[i] == TYPE_UNUSED ? new byte[0] : toBytes(tokens[i], types[i]);
        }
        return bytes;
    }

    private static byte[] toBytes(String token, int type) {
        if (type == TYPE_USER_DEFINED) return token.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(token.length());
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out.write(b);
            } else { // not a byte-level character: keep its UTF-8
                byte[] u = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(u, 0, u.length);
            }
        }
        return out.toByteArray();
    }

    static Gpt2Tokenizer fromGguf(GgufFile f) throws GgufException {
        String[] tokens = f.getStringArray("tokenizer.ggml.tokens");
        if (tokens.length == 0) throw new GgufException("tokenizer.ggml.tokens", "empty vocabulary");
        String[] merges = f.getStringArray("tokenizer.ggml.merges");
        int[] types;
        if (f.has("tokenizer.ggml.token_type")) {
            types = f.getIntArray("tokenizer.ggml.token_type");
            if (types.length != tokens.length) {
                throw new GgufException("tokenizer.ggml.token_type", types.length + " types for " + tokens.length + " tokens");
            }
        } else {
            types = new int[tokens.length];
            Arrays.fill(types, TYPE_NORMAL);
        }
        int n = tokens.length;
        int bos = f.getInt("tokenizer.ggml.bos_token_id", 0, n - 1, 0);
        int eos = f.getInt("tokenizer.ggml.eos_token_id", 0, n - 1, 0);
        return new Gpt2Tokenizer(tokens, types, merges, bos, eos, PreTokenizer.of(f.getString("tokenizer.ggml.pre", null)));
    }

    public PreTokenizer preTokenizer() {
        return pre;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        SentencePieceTokenizer.checkUnicode(text);
        List<Integer> out = new ArrayList<>();
        if (addBos) out.add(bos);
        Matcher m = pre.pattern.matcher(text);
        while (m.find()) {
            if (m.end() == m.start()) continue;
            byte[] utf8 = m.group().getBytes(StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder(utf8.length);
            for (byte b : utf8) sb.append(BYTE_TO_CHAR[b & 0xFF]);
            bpe(sb.toString(), out);
        }
        int[] r = new int[out.size()];
        for (int i = 0; i < r.length; i++) r[i] = out.get(i);
        return r;
    }

    private record Pair(int left, int right, int rank, int length) {}

    private void bpe(String word, List<Integer> out) {
        if (pre.ignoreMerges) {
            Integer whole = ids.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int n = word.length(); // byte-level characters are all in the BMP
        int[] start = new int[n], len = new int[n], next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            start[i] = i;
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Pair> queue = new PriorityQueue<>((a, b) -> a.rank != b.rank
                ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) addPair(queue, word, start, len, i - 1, i);
        while (!queue.isEmpty()) {
            Pair p = queue.poll();
            int l = p.left, r = p.right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != p.length || next[l] != r) continue;
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            if (prev[l] >= 0) addPair(queue, word, start, len, prev[l], l);
            if (next[l] >= 0) addPair(queue, word, start, len, l, next[l]);
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            String sym = word.substring(start[i], start[i] + len[i]);
            Integer id = ids.get(sym);
            if (id != null) {
                out.add(id);
            } else { // no token for the merged symbol: fall back to its single characters
                for (int c = 0; c < sym.length(); c++) {
                    Integer cid = ids.get(String.valueOf(sym.charAt(c)));
                    if (cid != null) out.add(cid);
                }
            }
        }
    }

    private void addPair(PriorityQueue<Pair> queue, String word, int[] start, int[] len, int l, int r) {
        String left = word.substring(start[l], start[l] + len[l]);
        String right = word.substring(start[r], start[r] + len[r]);
        Integer rank = mergeRanks.get(left + " " + right);
        if (rank != null) queue.add(new Pair(l, r, rank, len[l] + len[r]));
    }

    @Override
    public String model() {
        return "gpt2";
    }

    /** The byte-level character GPT-2 uses for byte {@code b} (for writing vocabularies). */
    public static char byteChar(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }
}
