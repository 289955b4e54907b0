package dev.nexusquant.eval.retrieval;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Passkey retrieval (a needle in a haystack, after Mohtashami and Jaggi, "Landmark Attention", 2023): repeated filler
 * sentences with one "The pass key is NNNNN. Remember it. NNNNN is the pass key." at a chosen depth, then
 * "What is the pass key? The pass key is"; the prompt is compressed, the answer decoded greedily, and its first five
 * digits compared with the key.
 */
public final class PasskeyTask {

    static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

    /** One cell of the grid. */
    public record Cell(int length, double depth, int trials, int correct) {
        public double accuracy() {
            return (double) correct / trials;
        }
    }

    /** All cells and the overall accuracy. */
    public record Result(List<Cell> cells, double accuracy) {
    }

    private PasskeyTask() {
    }

    /** Prompt token ids of about {@code length} tokens with the needle at {@code depth} (0 = start, 1 = end). */
    static int[] prompt(Tokenizer tok, int length, double depth, String key) {
        String needle = " The pass key is " + key + ". Remember it. " + key + " is the pass key.";
        String question = " What is the pass key? The pass key is";
        int fixed = tok.encode(needle + question, true).length;
        int fillerTokens = tok.encode(FILLER, false).length;
        int reps = Math.max(0, (length - fixed) / Math.max(1, fillerTokens));
        int before = (int) Math.round(reps * depth);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < before; i++) sb.append(FILLER);
        sb.append(needle);
        for (int i = before; i < reps; i++) sb.append(FILLER);
        sb.append(question);
        return tok.encode(sb.toString(), true);
    }

    /** Runs {@code trials} keys at every length and depth. */
    public static Result run(Model model, KvCacheFactory factory, int[] lengths, double[] depths, int trials, long seed) {
        return run(model, factory, lengths, depths, trials, seed, TaskProgress.NONE);
    }

    /** As {@link #run(Model, KvCacheFactory, int[], double[], int, long)}, telling {@code progress} after each key. */
    public static Result run(Model model, KvCacheFactory factory, int[] lengths, double[] depths, int trials, long seed,
                             TaskProgress progress) {
        Tokenizer tok = model.tokenizer();
        int ctx = model.config().contextLength();
        List<Cell> cells = new ArrayList<>();
        int all = 0, ok = 0;
        Random rnd = new Random(seed);
        int total = lengths.length * depths.length * trials, done = 0;
        for (int length : lengths) {
            if (length + 8 > ctx) throw new IllegalArgumentException("passkey length " + length + " does not fit the context " + ctx);
            for (double depth : depths) {
                int correct = 0;
                for (int t = 0; t < trials; t++) {
                    String key = String.valueOf(10000 + rnd.nextInt(90000));
                    int[] p = prompt(tok, length, depth, key);
                    String answer = answer(model, factory, p, 8);
                    String digits = answer.replaceAll("[^0-9]", "");
                    if (digits.startsWith(key)) correct++;
                    progress.update(++done, total);
                }
                cells.add(new Cell(length, depth, trials, correct));
                all += trials;
                ok += correct;
            }
        }
        return new Result(cells, (double) ok / all);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens after the prompt. */
    static String answer(Model model, KvCacheFactory factory, int[] prompt, int maxTokens) {
        int vocab = model.config().vocabSize();
        List<Integer> out = new ArrayList<>();
        try (Session s = model.newSession(factory)) {
            float[] logits = s.forward(prompt, 0, prompt.length, false);
            s.endOfPrompt();
            for (int i = 0; i < maxTokens; i++) {
                int arg = 0;
                for (int v = 1; v < vocab; v++) if (logits[v] > logits[arg]) arg = v;
                if (arg == model.tokenizer().eos()) break;
                out.add(arg);
                if (i + 1 < maxTokens) logits = s.forward(new int[]{arg}, 0, 1, false);
            }
        }
        return model.tokenizer().decode(out.stream().mapToInt(Integer::intValue).toArray());
    }
}
