package dev.nexusquant.server.memory;

/** A cache grew past the bytes reserved for its turn; the turn is stopped and its memory returned. */
public final class KvBudgetExceededException extends IllegalStateException {
    public KvBudgetExceededException(long held, long lease) {
        super("the KV cache holds " + held + " bytes, more than the " + lease + " reserved for its turn");
    }
}
