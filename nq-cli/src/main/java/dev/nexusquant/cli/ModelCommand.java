package dev.nexusquant.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * What every command that runs a model with a KV cache shares: {@code --model} ({@link ModelOption}), {@code --kv}
 * and {@code --kv-memory} ({@link KvOptions}), the output streams, and a progress bar on stderr when it is a terminal.
 */
abstract class ModelCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    KvOptions kv;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** A progress bar labelled {@code label}, drawn only when stderr is a terminal and {@code wanted}. */
    ProgressBar progress(String label, boolean wanted) {
        return new ProgressBar(err(), wanted && Terminal.stderrIsTerminal(), label);
    }
}
