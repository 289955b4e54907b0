package dev.nexusquant.engine.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files of ../shared (models, data), found through the system property {@code nq.shared}; tests skip when absent. */
public final class Shared {

    private Shared() {
    }

    /** The path of {@code relative} under the shared folder; the calling test is skipped when the file is absent. */
    public static Path require(String relative) {
        String root = System.getProperty("nq.shared");
        Assumptions.assumeTrue(root != null, "nq.shared is not set");
        Path p = Path.of(root).resolve(relative);
        Assumptions.assumeTrue(Files.isRegularFile(p), p + " is absent");
        return p;
    }

    public static Path stories260K() {
        return require("models/stories260K.gguf");
    }

    public static Path nqRef27m() {
        return require("models/nq-ref-27m.gguf");
    }

    public static Path tinyStoriesDev() {
        return require("data/tinystories-dev.txt");
    }

    public static Path nqRefDev() {
        return require("data/nqref-dev.txt");
    }
}
