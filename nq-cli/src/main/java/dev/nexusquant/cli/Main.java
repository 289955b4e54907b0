package dev.nexusquant.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ./nq} command line. Every subcommand prints one clear line to stderr and exits non-zero on bad input.
 */
@Command(name = "nq",
        mixinStandardHelpOptions = true,
        version = "NexusQuant for Java 0.1.0-SNAPSHOT",
        description = "KV-cache compression for LLM inference, with a pure-Java GGUF engine.",
        subcommands = {
                CommandLine.HelpCommand.class,
        })
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Errors::handle);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl.execute(args);
    }
}
