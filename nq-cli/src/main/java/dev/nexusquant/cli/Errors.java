package dev.nexusquant.cli;

import picocli.CommandLine;

/** Turns exceptions from a command into one line on stderr and a non-zero exit code. */
final class Errors {

    private Errors() {
    }

    static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": " + msg);
        if (Boolean.getBoolean("nq.debug")) {
            e.printStackTrace(cl.getErr());
        }
        return e instanceof IllegalArgumentException || e instanceof java.io.IOException ? 2 : 1;
    }

    /** Bad command-line syntax (unknown option, a number that is not one): one line and exit code 2. */
    static int handleParameter(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": " + e.getMessage() + " (see --help)");
        return 2;
    }
}
