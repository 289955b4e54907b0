package dev.nexusquant.server;

import dev.nexusquant.engine.model.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the server tests that run the small shared model: stories260K is loaded once before a test class and closed
 * after it ({@link #model}); the class is skipped, visibly, when the shared models are absent.
 */
public abstract class OnStories260K {

    protected static Model model;

    @BeforeAll
    static void loadStories260K() throws Exception {
        model = Model.load(TestServers.sharedModel("stories260K.gguf"));
    }

    @AfterAll
    static void closeStories260K() {
        if (model != null) model.close();
        model = null;
    }
}
