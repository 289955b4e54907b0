package dev.nexusquant.server.generation;

import dev.nexusquant.engine.model.Sampler;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.tokenizer.StreamDecoder;
import dev.nexusquant.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Runs one turn of a conversation on a session that already holds a prefix of its prompt:
 *
 * <ol>
 *   <li>prefill: the prompt tokens the session does not hold yet, then {@link Session#endOfPrompt()} (where a
 *       compressing cache compresses);</li>
 *   <li>decode: sample a token (seeded {@link Sampler}), stop at a control token (EOS, end of turn), emit its text
 *       minus anything that could be the start of a stop sequence, feed it back, until max tokens, a stop sequence, the
 *       context's end or cancellation.</li>
 * </ol>
 *
 * {@link History} records every token fed to the session, so the caller knows what the cache holds afterwards. The
 * last sampled token is not fed (nothing would read its keys before the next turn, which feeds it if the client
 * resends it).
 */
public final class Generator {

    /** The tokens a session holds, in order; the generator appends what it feeds. */
    public interface History {
        int size();

        void append(int[] tokens, int from, int n);
    }

    /** Receives the text of the turn as it becomes final (never a piece of a stop sequence). */
    @FunctionalInterface
    public interface TextSink {
        void accept(String text);
    }

    private Generator() {
    }

    /**
     * @param session    the session; it holds {@code prompt[0 .. history.size())} already (the whole prompt: its last
     *                   logits are used)
     * @param prompt     the whole prompt of this turn
     * @param stripSpace whether the text drops the space in front of its first token (a chat answer, or a text with
     *                   no prompt text before it, from a tokenizer that puts a space prefix in front of texts); a
     *                   completion otherwise keeps it, since the text goes on from the prompt
     * @param cancelled  polled before every forward pass; true ends the turn with {@link TurnResult.Finish#CANCELLED}
     */
    public static TurnResult run(Session session, History history, int[] prompt, Sampling o, boolean stripSpace,
                                 TextSink sink, BooleanSupplier cancelled) {
        Tokenizer tok = session.model().tokenizer();
        int ctx = session.model().config().contextLength();
        int vocab = session.model().config().vocabSize();
        int held = history.size();
        if (held > prompt.length) throw new IllegalArgumentException("the session holds more than the prompt");
        long t0 = System.nanoTime();
        if (cancelled.getAsBoolean()) return TurnResult.cancelled();
        float[] logits;
        if (held == prompt.length) { // prefilled before (through a prefix store): its last logits are the prompt's
            logits = session.lastLogits();
            if (logits == null) throw new IllegalArgumentException("the session holds the prompt but no logits");
        } else {
            logits = session.forward(prompt, held, prompt.length - held, false);
            history.append(prompt, held, prompt.length - held);
        }
        session.endOfPrompt();

        Sampler sampler = new Sampler(o.temperature(), o.topP(), o.seed());
        StreamDecoder decoder = new StreamDecoder(tok, false);
        StopMatcher stops = new StopMatcher(o.stop(), sink);
        TurnResult.Finish finish = TurnResult.Finish.LENGTH;
        int count = 0, steps = 0;
        long tFirst = 0;
        int[] one = new int[1];
        // [count + 1] for the transcript: the ids generated, and after each one the length of the raw text decoded so
        // far, or -1 where a character is still unfinished
        int[] generated = new int[Math.min(o.maxTokens(), 1024)];
        int[] rawLength = new int[generated.length + 1];
        StringBuilder raw = new StringBuilder();
        while (count < o.maxTokens()) {
            int next = sampler.sample(logits, 0, vocab);
            if (count == 0) tFirst = System.nanoTime();
            if (next == tok.eos() || tok.isControl(next)) {
                finish = TurnResult.Finish.STOP;
                break;
            }
            if (count == generated.length) {
                generated = Arrays.copyOf(generated, 2 * count);
                rawLength = Arrays.copyOf(rawLength, 2 * count + 1);
            }
            generated[count] = next;
            count++;
            String piece = decoder.next(next);
            raw.append(piece);
            rawLength[count] = decoder.clean() ? raw.length() : -1;
            if (stripSpace && raw.length() == piece.length() && piece.startsWith(" ")) piece = piece.substring(1);
            if (stops.add(piece)) {
                finish = TurnResult.Finish.STOP;
                break;
            }
            if (count == o.maxTokens() || session.position() >= ctx) break;
            if (cancelled.getAsBoolean()) {
                finish = TurnResult.Finish.CANCELLED;
                break;
            }
            one[0] = next;
            logits = session.forward(one, 0, 1, false);
            history.append(one, 0, 1);
            steps++;
        }
        long t2 = System.nanoTime();
        if (tFirst == 0) tFirst = t2;
        if (finish != TurnResult.Finish.STOP || !stops.stopped()) {
            String rest = decoder.flush();
            if (stripSpace && raw.isEmpty() && rest.startsWith(" ")) rest = rest.substring(1);
            stops.add(rest);
            stops.finish();
        }
        String text = stops.text();
        // the ids whose raw text lies within the text returned: up to the last whole character before any stop cut
        int skipped = stripSpace && !raw.isEmpty() && raw.charAt(0) == ' ' ? 1 : 0; // the space the text dropped
        int returned = text.isEmpty() ? 0 : text.length() + skipped;
        int all = count;
        while (all > 0 && rawLength[all] < 0) all--;
        int keep = all;
        while (keep > 0 && (rawLength[keep] < 0 || rawLength[keep] > returned)) keep--;
        return new TurnResult(text, count, finish, prompt.length - held, tFirst - t0, t2 - tFirst, steps,
                Arrays.copyOf(generated, keep), raw.substring(0, keep == 0 ? 0 : rawLength[keep]),
                Arrays.copyOf(generated, all), raw.substring(0, all == 0 ? 0 : rawLength[all]));
    }

    /**
     * Holds back text that could be the start of a stop sequence; finds the first stop sequence in the text.
     */
    static final class StopMatcher {
        private final List<String> stops;
        private final int longest;
        private final TextSink sink;
        private final StringBuilder text = new StringBuilder();
        private int emitted;
        private boolean stopped;

        StopMatcher(List<String> stops, TextSink sink) {
            this.stops = stops;
            this.sink = sink;
            int l = 0;
            for (String s : stops) l = Math.max(l, s.length());
            this.longest = l;
        }

        /** Adds text; returns true when a stop sequence appeared (the text is cut before it and emitted). */
        boolean add(String piece) {
            if (stopped || piece.isEmpty()) return stopped;
            int from = Math.max(0, text.length() - longest + 1);
            text.append(piece);
            int cut = -1;
            for (String s : stops) {
                int at = text.indexOf(s, from);
                if (at >= 0 && (cut < 0 || at < cut)) cut = at;
            }
            if (cut >= 0) {
                text.setLength(cut);
                emit(cut);
                stopped = true;
                return true;
            }
            emit(text.length() - heldBack());
            return false;
        }

        /** Length of the longest end of the text that begins some stop sequence. */
        private int heldBack() {
            int best = 0;
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, text.length()); k > best; k--) {
                    if (endsWith(text, s, k)) {
                        best = k;
                        break;
                    }
                }
            }
            return best;
        }

        /** Whether the text ends with the first {@code k} characters of {@code s}. */
        private static boolean endsWith(StringBuilder text, String s, int k) {
            int off = text.length() - k;
            for (int i = 0; i < k; i++) if (text.charAt(off + i) != s.charAt(i)) return false;
            return true;
        }

        private void emit(int upTo) {
            if (upTo > emitted) {
                sink.accept(text.substring(emitted, upTo));
                emitted = upTo;
            }
        }

        void finish() {
            emit(text.length());
        }

        boolean stopped() {
            return stopped;
        }

        String text() {
            return text.toString();
        }
    }
}
