package dev.nexusquant.engine.model;

import dev.nexusquant.engine.eval.Perplexity;
import dev.nexusquant.engine.eval.PerplexityResult;
import dev.nexusquant.engine.eval.ProgressListener;
import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The project's own reference model, model/nexusquant-lm-v2.gguf (12 layers, 4 query and 2 KV heads of head_dim 128,
 * GQA 2:1, Q8_0 matrices; model/default.gguf links to it), against the
 * figures of its trainer (model/MODEL_CARD.md): token ids from the Python tokenizer (identical to llama.cpp's) and
 * the perplexity that PyTorch computes from the exported weights (dequantized Q8_0, fp32 math) with llama.cpp's
 * protocol on model/heldout.txt.
 */
class NexusQuantLmTest {

    static Model model;
    static Path dir;

    static final String FILE = "nexusquant-lm-v2.gguf";

    /** The repository's model/ folder, found upwards from the working directory (a module's folder under Maven). */
    static Path modelDir() {
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("model").resolve(FILE))) return p.resolve("model");
        }
        Assumptions.abort("model/" + FILE + " not found above " + System.getProperty("user.dir"));
        return null;
    }

    @BeforeAll
    static void load() throws Exception {
        dir = modelDir();
        model = Model.load(dir.resolve(FILE));
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    @Test
    void config() {
        ModelConfig c = model.config();
        assertEquals(512, c.dim());
        assertEquals(12, c.layers());
        assertEquals(4, c.heads());
        assertEquals(2, c.kvHeads());
        assertEquals(128, c.headDim());
        assertEquals(1280, c.ffnDim());
        assertEquals(8192, c.vocabSize());
        assertEquals(2048, c.contextLength());
        assertTrue(c.tiedOutput());
        assertEquals(37_237_248L, c.parameters());
        assertEquals(85, c.tensorTypes().get(GgmlType.Q8_0));    // 1 embedding + 12 x 7 matrices
        assertEquals(25, c.tensorTypes().get(GgmlType.F32));     // 12 x 2 norms + the output norm
        assertEquals(12 * 2 * 2 * 128 * 2, model.kvLayout().fp16BytesPerToken());   // layers x (K, V) x heads x dim x 2 B
    }

    @Test
    void tokenIdsMatchTheTrainer() {
        var tok = model.tokenizer();
        assertArrayEquals(new int[]{1, 8000, 1799, 391, 910}, tok.encode("Once upon a time", true));
        assertArrayEquals(new int[]{1, 7489, 473, 3483, 351}, tok.encode("Hello world!", true));
        assertArrayEquals(new int[]{1, 556, 1247, 3694, 1603, 5107, 276, 13, 294, 1701, 1179, 276},
                tok.encode("The kernel schedules tasks.\nA second line.", true));
        assertArrayEquals(new int[]{1, 259, 198, 159, 265, 198, 178, 271, 378, 270, 370, 259, 383, 259, 319, 300},
                tok.encode("Ünïcödé ✓ 42", true));
    }

    @Test
    void perplexityMatchesPyTorch() throws Exception {
        int[] tokens = Perplexity.tokenizeFile(model, dir.resolve("heldout.txt"));
        assertEquals(PYTORCH_TOKENS, tokens.length, "tokens of model/heldout.txt");
        PerplexityResult r = Perplexity.evaluate(model, tokens, 2048, 2, DenseKvCache.FP32, ProgressListener.NONE);
        assertEquals(2 * 1023, r.scoredTokens());
        System.out.printf("nexusquant-lm-v2, heldout.txt, ctx 2048, 2 chunks: ppl %.4f (PyTorch %.4f) in %.1f s%n",
                r.ppl(), PYTORCH_PPL_2_CHUNKS, r.seconds());
        // the issue asks for 0.5%; both are fp32 on the same dequantized weights, so they agree far closer (1e-4)
        assertEquals(PYTORCH_PPL_2_CHUNKS, r.ppl(), PYTORCH_PPL_2_CHUNKS * 1e-4);
    }

    /**
     * PyTorch 2.11, fp32 with TF32 off, on the H200 of the training run (model/runs/nexusquant-lm-v2/summary.json,
     * ppl_heldout_txt_2_chunks); again with {@code python3 -m model.perplexity --gguf model/nexusquant-lm-v2.gguf
     * --text model/heldout.txt --max-chunks 2 --json}.
     */
    static final double PYTORCH_PPL_2_CHUNKS = 7.066436734354021;   // mean NLL 1.955356354889086 over 2,046 tokens
    static final int PYTORCH_TOKENS = 314_222;
}
