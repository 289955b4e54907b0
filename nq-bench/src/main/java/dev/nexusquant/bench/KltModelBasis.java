package dev.nexusquant.bench;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.ModelBasis;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the per-model KLT bases of a model ({@code rot=klt,basis=FILE}): the model samples TOKENS tokens from BOS
 * (temperature 1, seed SEED), and the bases are fitted from the rows it produced (keys with RoPE undone for
 * {@code pre}, as appended for {@code post}). Prints the file's size: it is stored beside the model, as weights are.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.KltModelBasis MODEL OUT [TOKENS] [pre|post] [SEED]</pre>
 */
public final class KltModelBasis {

    public static void main(String[] a) throws Exception {
        int tokens = a.length > 2 ? Integer.parseInt(a[2]) : 1024;
        boolean pre = a.length <= 3 || a[3].equals("pre");
        long seed = a.length > 4 ? Long.parseLong(a[4]) : 42;
        try (Model m = Model.load(Path.of(a[0]))) {
            long t0 = System.nanoTime();
            ModelBasis b = ModelBasis.fit(m, tokens, seed, pre);
            b.write(Path.of(a[1]));
            System.out.printf("%s: bases of %d layers x %d KV heads (head_dim %d, keys %s) from %d sampled tokens, seed %d:"
                            + " %d bytes of bases, file %d bytes, %.1f s%n", a[1], b.layers(), b.kvHeads(), b.headDim(),
                    pre ? "pre-RoPE" : "post-RoPE", tokens, seed, b.bytes(), Files.size(Path.of(a[1])), (System.nanoTime() - t0) / 1e9);
        }
    }
}
