package dev.nexusquant.engine.testing;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.ModelConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A reference model that a test class loads once, with the load-and-score block the reference-model tests share.
 *
 * <p>When the model file is absent (no ../shared on this machine), nothing fails in {@code @BeforeAll}: every test
 * that asks for the model with {@link #get()} is skipped on its own, so the run counts and prints it as skipped,
 * and one line on the console says why (a failed assumption in {@code @BeforeAll} made the whole class vanish from
 * the counts instead). Registered with {@code @RegisterExtension}, it closes the model after the class.
 */
public final class SharedModel implements AutoCloseable, AfterAllCallback {

    private final String label;
    private final Path file;     // null when absent
    private final String absent; // why, when absent
    private Model model;

    private SharedModel(String label, Path file, String absent) {
        this.label = label;
        this.file = file;
        this.absent = absent;
    }

    /** The model {@code relative} under ../shared (see {@link Shared}); absent files make the tests skip. */
    public static SharedModel of(String relative) {
        String root = System.getProperty("nq.shared");
        Path p = root == null ? null : Path.of(root).resolve(relative);
        if (p == null || !Files.isRegularFile(p)) {
            String why = (p == null ? "nq.shared is not set" : p + " is absent") + ": the tests that need it are skipped";
            System.out.println("[skip] " + relative + ": " + why);
            return new SharedModel(relative, null, why);
        }
        return new SharedModel(relative, p, null);
    }

    /** A model file at a path of the repository ({@code model/...}); absent files make the tests skip. */
    public static SharedModel at(String label, Path file) {
        if (file == null || !Files.isRegularFile(file)) {
            String why = (file == null ? label + " was not found" : file + " is absent") + ": the tests that need it are skipped";
            System.out.println("[skip] " + label + ": " + why);
            return new SharedModel(label, null, why);
        }
        return new SharedModel(label, file, null);
    }

    /** The loaded model; skips the calling test when the file is absent. */
    public synchronized Model get() {
        Assumptions.assumeTrue(file != null, absent);
        if (model == null) {
            try {
                model = Model.load(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return model;
    }

    /**
     * The load-and-score block of the reference-model tests: perplexity with the dense fp32 cache over the first
     * {@code chunks} chunks of {@code ctx} tokens, {@code scored} predictions expected, within {@code relTol} of
     * {@code expected}; prints the figure.
     */
    public PerplexityResult checkPerplexity(int[] tokens, int ctx, int chunks, long scored, double expected, double relTol) {
        PerplexityResult r = Perplexity.evaluate(get(), tokens, ctx, chunks, DenseKvCache.FP32, ProgressListener.NONE);
        assertEquals(scored, r.scoredTokens(), label + " ctx " + ctx + ", " + chunks + " chunks: scored predictions");
        System.out.printf("%s ctx %d chunks %d: ppl %.6f (reference %.6f) in %.1f s, %.0f tokens/s%n",
                label, ctx, chunks, r.ppl(), expected, r.seconds(), r.tokensPerSecond());
        assertEquals(expected, r.ppl(), expected * relTol, label + " ctx " + ctx + ", " + chunks + " chunks");
        return r;
    }

    /** Checks the model's shape: dimension, layers, query heads, KV heads, head size, FFN size and vocabulary. */
    public ModelConfig assertShape(int dim, int layers, int heads, int kvHeads, int headDim, int ffnDim, int vocab) {
        ModelConfig c = get().config();
        assertEquals(dim, c.dim(), label + " dim");
        assertEquals(layers, c.layers(), label + " layers");
        assertEquals(heads, c.heads(), label + " heads");
        assertEquals(kvHeads, c.kvHeads(), label + " KV heads");
        assertEquals(headDim, c.headDim(), label + " head_dim");
        assertEquals(ffnDim, c.ffnDim(), label + " FFN");
        assertEquals(vocab, c.vocabSize(), label + " vocabulary");
        return c;
    }

    /** The tokens of a text file, as the perplexity protocol reads it. */
    public int[] tokenize(Path text) throws IOException {
        return Perplexity.tokenizeFile(get(), text);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    @Override
    public synchronized void close() {
        if (model != null) model.close();
        model = null;
    }
}
