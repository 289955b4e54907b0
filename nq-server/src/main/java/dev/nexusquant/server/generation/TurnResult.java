package dev.nexusquant.server.generation;

/**
 * What one turn produced.
 *
 * @param text             the generated text (stop sequences excluded)
 * @param completionTokens tokens generated (a control token that ended the turn not included)
 * @param finish           why it ended
 * @param prefilled        prompt tokens run through the model in this turn (those the cache did not hold yet)
 * @param firstTokenNanos  time from the turn's start to its first token (prefill included)
 * @param decodeNanos      time of the token-by-token part
 * @param decodeSteps      forward passes of single tokens in {@code decodeNanos}
 * @param tokens           the generated ids whose text is final (all of them, less any cut by a stop sequence or
 *                         ending inside an unfinished character), for {@link dev.nexusquant.server.chat.Transcripts}
 * @param tokensText       the text of {@code tokens} as it follows the prompt (a leading space that {@code text}
 *                         drops kept)
 * @param allTokens        every generated id up to the last whole character, a stop sequence included (its text
 *                         may come back: the plain template's next turn begins with the stop sequence's text)
 * @param allText          the text of {@code allTokens} as it follows the prompt
 */
public record TurnResult(String text, int completionTokens, Finish finish, int prefilled, long firstTokenNanos,
                         long decodeNanos, int decodeSteps, int[] tokens, String tokensText, int[] allTokens,
                         String allText) {

    /** This result with prompt tokens the pool prefilled before the turn (and their time) counted in. */
    public TurnResult withPoolPrefill(int tokens, long nanos) {
        if (tokens == 0 && nanos == 0) return this;
        return new TurnResult(text, completionTokens, finish, prefilled + tokens, firstTokenNanos + nanos, decodeNanos,
                decodeSteps, this.tokens, tokensText, allTokens, allText);
    }

    /** A turn stopped before it ran. */
    public static TurnResult cancelled() {
        return new TurnResult("", 0, Finish.CANCELLED, 0, 0, 0, 0, new int[0], "", new int[0], "");
    }

    /** {@code stop}: a control token (EOS, end of turn) or a stop sequence; {@code length}: max tokens or context. */
    public enum Finish {
        STOP("stop"), LENGTH("length"), CANCELLED("cancelled");

        public final String openAi;

        Finish(String openAi) {
            this.openAi = openAi;
        }
    }
}
