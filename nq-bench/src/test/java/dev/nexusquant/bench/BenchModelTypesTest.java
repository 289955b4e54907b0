package dev.nexusquant.bench;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.gguf.GgufFile;
import dev.nexusquant.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor types {@link BenchModel} writes for {@code Q4_K_M}: read back from the written file's header (the data,
 * ~800 MB of random weights, is not produced: the file is extended sparsely past the header).
 */
class BenchModelTypesTest {

    /** Thrown by the test's data source at the first tensor: the header has been written. */
    private static final class HeaderWritten extends RuntimeException {
        HeaderWritten() {
            super(null, null, false, false);
        }
    }

    private static GgufFile header(Path dir, TensorTypes types, int layers) throws Exception {
        Path p = dir.resolve(types.name() + "-" + layers + ".gguf");
        try (OutputStream os = Files.newOutputStream(p)) {
            BenchModel.writer(types, layers, 1, (type, cols, rows, scale, seed) -> {
                throw new HeaderWritten();
            }).write(os);
        } catch (HeaderWritten expected) { // the header and its padding are in the file
        }
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(f.length() + (2L << 30)); // sparse: room for every tensor's data
        }
        return GgufFile.open(p);
    }

    @Test
    void q4kmGivesQ6kToTheEmbeddingAndToAttnVAndFfnDownInTheRuleLayers(@TempDir Path dir) throws Exception {
        try (GgufFile f = header(dir, TensorTypes.parse("q4_k_m"), 16)) {
            assertEquals(GgmlType.Q6_K, f.tensor("token_embd.weight").type());
            assertEquals(15, f.getInt("general.file_type", 0, 100));
            // llama.cpp's use_more_bits for 16 layers: 0, 1 (first eighth), 4, 7, 10, 13 (every third), 14, 15 (last eighth)
            Set<Integer> six = Set.of(0, 1, 4, 7, 10, 13, 14, 15);
            int q6 = 0, q4 = 0;
            for (int l = 0; l < 16; l++) {
                for (String t : List.of("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")) {
                    GgufTensorInfo info = f.tensor("blk." + l + "." + t + ".weight");
                    boolean more = six.contains(l) && (t.equals("attn_v") || t.equals("ffn_down"));
                    assertEquals(more ? GgmlType.Q6_K : GgmlType.Q4_K, info.type(), l + " " + t);
                    if (more) q6++;
                    else q4++;
                }
                assertEquals(GgmlType.F32, f.tensor("blk." + l + ".attn_norm.weight").type());
            }
            assertEquals(16, q6);
            assertEquals(96, q4);
            assertFalse(f.tensors().containsKey("output.weight")); // tied: the embedding is the output
        }
    }

    @Test
    void aPlainTypeGoesToEveryMatrix(@TempDir Path dir) throws Exception {
        try (GgufFile f = header(dir, TensorTypes.parse("Q4_K"), 2)) {
            for (GgufTensorInfo t : f.tensors().values()) {
                boolean norm = t.name().endsWith("norm.weight");
                assertEquals(norm ? GgmlType.F32 : GgmlType.Q4_K, t.type(), t.name());
            }
            assertFalse(f.has("general.file_type"));
        }
    }

    @Test
    void moreBitsFollowsLlamaCppsRule() {
        // 32 layers (Llama 3 8B): 0..3, 28..31, and 4 + 3k + 2 = 6, 9, ..., 27
        for (int l = 0; l < 32; l++) {
            boolean expected = l < 4 || l >= 28 || (l - 4) % 3 == 2;
            assertEquals(expected, TensorTypes.moreBits(l, 32), "layer " + l);
        }
        assertTrue(TensorTypes.moreBits(6, 32));
        assertFalse(TensorTypes.moreBits(7, 32));
        // 16 layers: 8 of 16
        int n = 0;
        for (int l = 0; l < 16; l++) if (TensorTypes.moreBits(l, 16)) n++;
        assertEquals(8, n);
    }

    @Test
    void anUnknownTypeIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorTypes.parse("Q5_K_S"));
        assertTrue(e.getMessage().contains("Q5_K_S") && e.getMessage().contains("Q4_K_M"), e.getMessage());
    }
}
