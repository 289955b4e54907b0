package dev.nexusquant.eval.retrieval;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Copy retrieval: a sequence of {@code length} tokens, then the same sequence again. The first occurrence is the
 * prompt (BOS + sequence), so a compressing cache ranks, evicts and quantizes it; the repeat is then teacher-forced
 * through the cache and every prediction after its first token is scored: top-1 accuracy and mean NLL. Trained models
 * copy the repeat through induction heads, so the uncompressed accuracy is far above what the model predicts without
 * the first occurrence (the "prior", reported beside it), and any detail that compression lost shows up here even
 * when perplexity on ordinary text hides it.
 *
 * <p>Sequences are random whole-word tokens ({@link #sequences}) or passages of a text ({@link #passages}): very
 * small models copy natural text but not random words, so both are offered.
 */
public final class CopyTask {

    /**
     * Result over all trials.
     *
     * @param accuracy      top-1 accuracy on the repeat
     * @param nll           mean NLL on the repeat, nats
     * @param priorAccuracy top-1 accuracy on the same predictions in the first occurrence (no copy possible)
     * @param lastStats     the cache of the last trial, at its end
     */
    public record Result(int trials, int length, long predictions, double accuracy, double nll, double priorAccuracy,
                         KvStats lastStats) {
    }

    private CopyTask() {
    }

    /** Word-like tokens: pieces that decode to a space followed by 2 to 12 ASCII letters. */
    static int[] wordTokens(Tokenizer tok) {
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < tok.vocabSize(); id++) {
            if (tok.isControl(id)) continue;
            String s = new String(tok.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8);
            if (s.length() >= 3 && s.length() <= 13 && s.charAt(0) == ' ' && s.substring(1).chars().allMatch(
                    c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                ids.add(id);
            }
        }
        if (ids.size() < 16) throw new IllegalArgumentException("the vocabulary has too few word tokens for the copy task");
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The token sequences of the trials: [trials][length]. */
    public static int[][] sequences(Model model, int length, int trials, long seed) {
        int[] words = wordTokens(model.tokenizer());
        Random rnd = new Random(seed);
        int[][] seqs = new int[trials][length];
        for (int t = 0; t < trials; t++) {
            for (int i = 0; i < length; i++) {
                int w;
                do {
                    w = words[rnd.nextInt(words.length)];
                } while (i > 0 && w == seqs[t][i - 1]);
                seqs[t][i] = w;
            }
        }
        return seqs;
    }

    /** {@code trials} passages of {@code length} tokens of {@code tokens}, evenly spaced: [trials][length]. */
    public static int[][] passages(int[] tokens, int length, int trials) {
        if ((long) length * trials > tokens.length - 1) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than " + trials
                    + " passages of " + length);
        }
        int[][] seqs = new int[trials][];
        long stride = (tokens.length - 1) / trials;
        for (int t = 0; t < trials; t++) {
            int from = (int) (1 + t * stride);
            seqs[t] = java.util.Arrays.copyOfRange(tokens, from, from + length);
        }
        return seqs;
    }

    /** Runs random-word trials with caches from {@code factory}. */
    public static Result run(Model model, KvCacheFactory factory, int length, int trials, long seed) {
        if (trials < 1) throw new IllegalArgumentException("copy trials must be at least 1, is " + trials);
        return run(model, factory, sequences(model, length, trials, seed));
    }

    /** Runs one trial per sequence ([trials][length]) with caches from {@code factory}. */
    public static Result run(Model model, KvCacheFactory factory, int[][] sequences) {
        return run(model, factory, sequences, TaskProgress.NONE);
    }

    /** As {@link #run(Model, KvCacheFactory, int[][])}, telling {@code progress} after each trial. */
    public static Result run(Model model, KvCacheFactory factory, int[][] sequences, TaskProgress progress) {
        int trials = sequences.length;
        if (trials < 1) throw new IllegalArgumentException("copy trials must be at least 1, is " + trials);
        int length = sequences[0].length;
        if (length < 2) throw new IllegalArgumentException("copy length must be at least 2, is " + length);
        int need = 1 + 2 * length;
        if (need > model.config().contextLength()) {
            throw new IllegalArgumentException("copy length " + length + " needs " + need
                    + " tokens, more than the model's context " + model.config().contextLength());
        }
        int vocab = model.config().vocabSize();
        int bos = model.tokenizer().bos();
        long correct = 0, prior = 0, count = 0;
        double nll = 0;
        KvStats last = null;
        int done = 0;
        for (int[] seq : sequences) {
            int[] prompt = new int[1 + length];
            prompt[0] = bos;
            System.arraycopy(seq, 0, prompt, 1, length);
            try (Session s = model.newSession(factory)) {
                float[] first = s.forward(prompt, 0, prompt.length, true);
                for (int j = 1; j < length; j++) { // logits after prompt[j] = seq[j - 1] predict seq[j]
                    if (argmax(first, j * vocab, vocab) == seq[j]) prior++;
                }
                s.endOfPrompt();
                // feed repeat tokens 0 .. length-2; logits j predict repeat token j + 1
                float[] logits = s.forward(seq, 0, length - 1, true);
                for (int j = 0; j < length - 1; j++) {
                    int target = seq[j + 1];
                    int off = j * vocab;
                    int arg = 0;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < vocab; v++) {
                        if (logits[off + v] > max) {
                            max = logits[off + v];
                            arg = v;
                        }
                    }
                    double sum = 0;
                    for (int v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
                    nll += Math.log(sum) + max - logits[off + target];
                    if (arg == target) correct++;
                    count++;
                }
                last = s.kvCache().stats();
            }
            progress.update(++done, trials);
        }
        return new Result(trials, length, count, (double) correct / count, nll / count, (double) prior / count, last);
    }

    private static int argmax(float[] x, int off, int n) {
        int arg = 0;
        for (int i = 1; i < n; i++) if (x[off + i] > x[off + arg]) arg = i;
        return arg;
    }
}
