package dev.nexusquant.bench;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.model.Model;

import java.nio.file.Path;

/**
 * Perplexity with chunks one after the other against two chunks at once, alternating, to decide whether
 * chunk-level parallelism helps on this machine.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp nq-bench/target/benchmarks.jar dev.nexusquant.bench.PerplexityThreads MODEL TEXT CTX CHUNKS [ROUNDS]</pre>
 */
public final class PerplexityThreads {

    public static void main(String[] a) throws Exception {
        try (Model m = Model.load(Path.of(a[0]))) {
            int[] tokens = Perplexity.tokenizeFile(m, Path.of(a[1]));
            int ctx = Integer.parseInt(a[2]), chunks = Integer.parseInt(a[3]), rounds = a.length > 4 ? Integer.parseInt(a[4]) : 4;
            for (int round = 0; round < rounds; round++) {
                for (int threads : new int[]{1, 2}) {
                    PerplexityResult r = Perplexity.evaluate(m, tokens, ctx, chunks, DenseKvCache.FP32, ProgressListener.NONE, threads);
                    System.out.printf("chunk threads %d: ppl %.6f, %.2f s, %.0f tokens/s%n", threads, r.ppl(), r.seconds(), r.tokensPerSecond());
                }
            }
        }
    }
}
