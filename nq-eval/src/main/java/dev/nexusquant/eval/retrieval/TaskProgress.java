package dev.nexusquant.eval.retrieval;

/** Told how far a retrieval task has come: {@code done} of {@code total} trials. */
@FunctionalInterface
public interface TaskProgress {

    TaskProgress NONE = (done, total) -> { };

    void update(int done, int total);
}
