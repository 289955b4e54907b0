package dev.nexusquant.kv;

/** The settings behind {@link Quality}; see {@link Quality} for where they come from. */
final class Presets {

    private Presets() {
    }

    static KvCompression of(Quality q) {
        throw new IllegalStateException("the " + q + " preset is not chosen yet: it waits for the E8 codec and the sweep");
    }
}
