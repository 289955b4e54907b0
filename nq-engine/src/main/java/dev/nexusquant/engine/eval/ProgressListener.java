package dev.nexusquant.engine.eval;

/** Told how a long evaluation advances. */
@FunctionalInterface
public interface ProgressListener {

    /**
     * @param done        units finished (chunks)
     * @param total       units in all
     * @param runningPpl  perplexity over what is finished so far
     */
    void progress(int done, int total, double runningPpl);

    ProgressListener NONE = (done, total, ppl) -> { };
}
