package dev.nexusquant.server.chat;

import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Prompt text to token ids. A chat template's output may contain the text of control tokens ({@code <|im_start|>},
 * {@code <s>}): those are found (longest match first) and become their ids; the text between them is encoded by the
 * model's tokenizer. A BOS is put first unless the text already starts with one. Plain prompts are encoded as text.
 */
public final class PromptTokenizer {

    private final Tokenizer tokenizer;
    /** first character -> control pieces starting with it, longest first. */
    private final Map<Character, List<String>> specials = new HashMap<>();
    private final Map<String, Integer> ids = new HashMap<>();

    public PromptTokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (!tokenizer.isControl(id)) continue;
            String p = tokenizer.piece(id);
            if (p == null || p.length() < 2) continue;
            ids.putIfAbsent(p, id);
        }
        for (String p : ids.keySet()) specials.computeIfAbsent(p.charAt(0), c -> new ArrayList<>()).add(p);
        for (List<String> l : specials.values()) l.sort((a, b) -> b.length() - a.length());
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The ids of a whole prompt, BOS first.
     *
     * @param parseSpecial whether control-token text becomes control tokens
     * @throws IllegalArgumentException for text the tokenizer rejects (a lone surrogate)
     */
    public int[] encode(String text, boolean parseSpecial) {
        return encode(text, parseSpecial, true, false);
    }

    /**
     * The ids of text that continues a prompt already encoded (no BOS; no space prefix in front of it unless it
     * follows a control token, where a whole prompt's text would get one too).
     *
     * @param afterControl whether the ids before end with a control token
     */
    public int[] encodeContinuation(String text, boolean parseSpecial, boolean afterControl) {
        return encode(text, parseSpecial, false, afterControl);
    }

    private int[] encode(String text, boolean parseSpecial, boolean whole, boolean afterControl) {
        if (!parseSpecial || ids.isEmpty()) {
            if (whole) return tokenizer.encode(text, true);
            return afterControl ? tokenizer.encode(text, false) : tokenizer.encodeContinuation(text);
        }
        List<int[]> parts = new ArrayList<>();
        int total = 0;
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            List<String> cands = specials.get(text.charAt(i));
            String hit = null;
            if (cands != null) {
                for (String c : cands) {
                    if (text.startsWith(c, i)) {
                        hit = c;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            if (i > start) {
                int[] seg = segment(text.substring(start, i), start == 0 && !whole && !afterControl);
                parts.add(seg);
                total += seg.length;
            }
            parts.add(new int[]{ids.get(hit)});
            total++;
            i += hit.length();
            start = i;
        }
        if (start < text.length()) {
            int[] seg = segment(text.substring(start), start == 0 && !whole && !afterControl);
            parts.add(seg);
            total += seg.length;
        }
        boolean bosFirst = !whole || !parts.isEmpty() && parts.get(0).length > 0 && parts.get(0)[0] == tokenizer.bos();
        int[] out = new int[total + (bosFirst ? 0 : 1)];
        int at = 0;
        if (!bosFirst) out[at++] = tokenizer.bos();
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return at == out.length ? out : Arrays.copyOf(out, at);
    }

    /** Text between control tokens; {@code continuing}: it goes on from the text before it (no space prefix). */
    private int[] segment(String text, boolean continuing) {
        return continuing ? tokenizer.encodeContinuation(text) : tokenizer.encode(text, false);
    }
}
