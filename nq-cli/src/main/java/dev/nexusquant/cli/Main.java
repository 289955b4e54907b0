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
                GenerateCommand.class,
                PerplexityCommand.class,
                InfoCommand.class,
                CopyCommand.class,
                PasskeyCommand.class,
                BenchCommand.class,
                CodecCommand.class,
                ServeCommand.class,
        })
public final class Main {

    /** The commands that run a model's forward pass, for which {@link dev.nexusquant.engine.tensor.KernelPrimer} starts. */
    static final java.util.Set<String> RUNS_A_MODEL = java.util.Set.of("generate", "perplexity", "passkey", "copy", "serve", "bench");

    public static void main(String[] args) {
        // library log records (such as the vectorization switch's fallback) as one line each on stderr
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "nq: %4$s: %5$s%6$s%n");
        }
        String problem = engineSettingsProblem();
        if (problem != null) { // before the primer, whose thread would meet it first as an ExceptionInInitializerError
            System.err.println("nq: " + problem);
            System.exit(2);
        }
        if (args.length > 0 && RUNS_A_MODEL.contains(args[0])) {
            // the prefill's vector kernels start compiling on the second core while the model loads
            dev.nexusquant.engine.tensor.KernelPrimer.start();
        }
        System.exit(run(args));
    }

    /**
     * What is wrong with the engine's system properties that are read once, in static initializers (today
     * {@code -Dnq.threads}, through {@code NQ_JAVA_OPTS}), or null: checked before anything runs, so that a bad value
     * is one line and exit code 2 rather than an {@link ExceptionInInitializerError}'s stack trace.
     */
    static String engineSettingsProblem() {
        try {
            dev.nexusquant.engine.tensor.ThreadCount.fromProperty();
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage() + " (set through NQ_JAVA_OPTS)";
        }
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8), true),
                new java.io.PrintWriter(new java.io.OutputStreamWriter(System.err, java.nio.charset.StandardCharsets.UTF_8), true), args);
    }

    /** Runs the CLI with the given output and error writers and returns its exit code. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Errors::handle);
        cl.setParameterExceptionHandler(Errors::handleParameter);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(out);
        cl.setErr(err);
        cl.setUsageHelpAutoWidth(true);
        try {
            String problem = engineSettingsProblem();
            if (problem != null) {
                err.println("nq: " + problem);
                return 2;
            }
            if (args.length == 0) { // no command: say what there is
                cl.usage(out);
                return 0;
            }
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }
}
