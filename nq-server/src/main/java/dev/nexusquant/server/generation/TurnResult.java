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
 */
public record TurnResult(String text, int completionTokens, Finish finish, int prefilled, long firstTokenNanos,
                         long decodeNanos, int decodeSteps) {

    /** {@code stop}: a control token (EOS, end of turn) or a stop sequence; {@code length}: max tokens or context. */
    public enum Finish {
        STOP("stop"), LENGTH("length"), CANCELLED("cancelled");

        public final String openAi;

        Finish(String openAi) {
            this.openAi = openAi;
        }
    }
}
