package dev.nexusquant.langchain4j;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

final class Models {
    private Models() {
    }

    /** ../shared/models/stories260K.gguf, or the test is skipped (visibly) without the shared folder. */
    static Path stories() {
        Path p = Path.of(System.getProperty("nq.shared", "../../shared"), "models", "stories260K.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(p), "skipped: " + p + " is absent (the shared models are needed)");
        return p;
    }
}
