package dev.nexusquant.cli;

import dev.nexusquant.engine.model.Model;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code --model FILE} option shared by the commands that run a model, with the project's default model. */
public final class ModelOption {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "GGUF model file (default: the project's model, model/default.gguf beside the ./nq launcher).")
    Path model;

    /** The model file: --model, or the default one when it exists. */
    public Path resolve() throws IOException {
        if (model != null) {
            return InputFile.regular(model, "model file");
        }
        Path dflt = defaultModel();
        if (dflt != null && Files.isRegularFile(dflt)) return dflt;
        throw new IllegalArgumentException("no model given and the default model " + (dflt == null ? "(nq.home unset)" : dflt)
                + " is absent: pass --model FILE");
    }

    /** {@code ${nq.home}/model/default.gguf}, or null when {@code nq.home} is not set. */
    public static Path defaultModel() {
        String home = System.getProperty("nq.home");
        return home == null ? null : Path.of(home, "model", "default.gguf");
    }

    public Model load() throws IOException {
        return Model.load(resolve());
    }
}
