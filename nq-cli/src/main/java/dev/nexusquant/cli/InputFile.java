package dev.nexusquant.cli;

import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The files a command reads (--model, --text, --prompt-file, --input): one that is missing and one that is a
 * directory or another kind of non-file are different one-line errors, each naming the path and what it was meant to
 * be.
 */
final class InputFile {

    private InputFile() {
    }

    /**
     * {@code path} when it is a regular file (or a link to one).
     *
     * @param what what the file is for, as the message says it: "model file", "text file", ...
     */
    static Path regular(Path path, String what) throws FileSystemException {
        if (Files.isRegularFile(path)) return path;
        if (Files.isDirectory(path)) throw new FileSystemException(path.toString(), null, "is a directory, not a " + what);
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such " + what);
        throw new FileSystemException(path.toString(), null, "is not a regular file, so not a " + what);
    }
}
