package dev.nexusquant.engine.model;

/** Told how far the prefill of a prompt has come, after each batch: {@code done} of {@code total} prompt tokens. */
@FunctionalInterface
public interface PrefillListener {

    PrefillListener NONE = (done, total) -> { };

    void onPrefill(int done, int total);
}
