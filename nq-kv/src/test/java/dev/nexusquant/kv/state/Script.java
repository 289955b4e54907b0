package dev.nexusquant.kv.state;

import dev.nexusquant.engine.model.Session;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A conversation as a list of steps over one token sequence: a first prompt (all logits), its end, single decode
 * steps, a second turn's prompt and its end, more decode steps. Tests run it on a session, save the session between
 * steps, and run the rest on the restored one.
 */
final class Script {

    /** One step: a forward pass of {@code n} tokens from {@code from} ({@code n == 0}: end of prompt). */
    record Step(int from, int n, boolean all, String name) {
        boolean endOfPrompt() {
            return n == 0;
        }
    }

    final int[] tokens;
    final List<Step> steps = new ArrayList<>();

    Script(int vocab, long seed, int prompt, int decode, int prompt2, int decode2) {
        tokens = tokens(prompt + decode + prompt2 + decode2, seed, vocab);
        int at = 0;
        steps.add(new Step(at, prompt, true, "prompt"));
        at += prompt;
        steps.add(new Step(at, 0, false, "end of prompt"));
        for (int i = 0; i < decode; i++) steps.add(new Step(at++, 1, false, "decode " + i));
        steps.add(new Step(at, prompt2, true, "second turn"));
        at += prompt2;
        steps.add(new Step(at, 0, false, "end of second turn"));
        for (int i = 0; i < decode2; i++) steps.add(new Step(at++, 1, false, "turn-2 decode " + i));
    }

    static int[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
        return t;
    }

    /** Runs step {@code i} on {@code s}; returns its logits (null for an end of prompt). */
    float[] run(Session s, int i) {
        Step st = steps.get(i);
        if (st.endOfPrompt()) {
            s.endOfPrompt();
            return null;
        }
        return s.forward(tokens, st.from(), st.n(), st.all());
    }

    /** Index of the first step named {@code name}. */
    int index(String name) {
        for (int i = 0; i < steps.size(); i++) if (steps.get(i).name().equals(name)) return i;
        throw new IllegalArgumentException(name);
    }

    /** Tokens processed before step {@code i}. */
    int position(int i) {
        int p = 0;
        for (int j = 0; j < i; j++) p += steps.get(j).n();
        return p;
    }
}
