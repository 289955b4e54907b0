package dev.nexusquant.cli;

import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.eval.retrieval.PasskeyTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code nq passkey}: needle in a haystack at several depths and lengths, uncompressed beside --kv. */
@Command(name = "passkey", mixinStandardHelpOptions = true,
        description = {"Passkey retrieval: filler text with 'The pass key is NNNNN' at several depths, then the question.",
                "The prompt is compressed and the answer decoded greedily.",
                "Prints accuracy per length and depth for the uncompressed cache and for --kv."})
public final class PasskeyCommand extends ModelCommand {

    @Option(names = "--lengths", paramLabel = "N,..", split = ",", description = "Prompt lengths in tokens (default: 25%%, 50%% and 100%% of the context).")
    int[] lengths;

    @Option(names = "--depths", paramLabel = "D,..", split = ",", defaultValue = "0,0.25,0.5,0.75,1",
            description = "Needle depths, 0 = start, 1 = end (default: ${DEFAULT-VALUE}).")
    double[] depths;

    @Option(names = "--trials", paramLabel = "T", defaultValue = "3", description = "Keys per cell (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the keys (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (trials < 1 || trials > 1000) throw new IllegalArgumentException("--trials must be in 1..1000, is " + trials);
        for (double d : depths) {
            if (!(d >= 0 && d <= 1)) throw new IllegalArgumentException("--depths must be in [0, 1], got " + d);
        }
        PrintWriter out = out();
        try (Model model = modelOption.load()) {
            int ctx = model.config().contextLength();
            int[] lens = lengths != null ? lengths : new int[]{ctx / 4, ctx / 2, ctx - 16};
            for (int l : lens) {
                if (l < 32 || l + 8 > ctx) throw new IllegalArgumentException("--lengths: " + l + " is not in 32.." + (ctx - 8));
            }
            KvCacheFactory f = kv.factory(model);
            ProgressBar bar = progress("passkey", true);
            int keys = lens.length * depths.length * trials;
            PasskeyTask.Result base = PasskeyTask.run(model, model.kvCacheFactory(), lens, depths, trials, seed,
                    (done, all) -> bar.update(done, 2 * keys, "uncompressed"));
            PasskeyTask.Result comp = PasskeyTask.run(model, f, lens, depths, trials, seed,
                    (done, all) -> bar.update(keys + done, 2 * keys, "--kv"));
            bar.finish();
            if (json) {
                out.println(new Json().put("model", model.config().name()).put("trials", trials).put("seed", seed)
                        .put("baseline", result(base, model.kvCacheFactory().describe()))
                        .put("compressed", result(comp, f.describe())));
            } else {
                out.printf("passkey retrieval on %s, %d keys per cell: accuracy uncompressed / %s%n",
                        model.config().name(), trials, f.describe());
                for (int i = 0; i < base.cells().size(); i++) {
                    PasskeyTask.Cell b = base.cells().get(i), c = comp.cells().get(i);
                    out.printf("  length %5d depth %4.2f: %.2f / %.2f%n", b.length(), b.depth(), b.accuracy(), c.accuracy());
                }
                out.printf("  overall: %.3f / %.3f%n", base.accuracy(), comp.accuracy());
            }
        }
        return 0;
    }

    static Json result(PasskeyTask.Result r, String cache) {
        List<Json> cells = new ArrayList<>();
        for (PasskeyTask.Cell c : r.cells()) {
            cells.add(new Json().put("length", c.length()).put("depth", c.depth()).put("accuracy", c.accuracy()));
        }
        return new Json().put("kv_cache", cache).put("accuracy", r.accuracy()).put("cells", cells);
    }
}
