package dev.nexusquant.engine.gguf;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Thousands of corrupted variants of valid small models (flipped bytes, truncations, huge counts and lengths written
 * over fields): reading and loading each must end in success or in an IOException (GgufException), never in another
 * exception, an OutOfMemoryError or a hang. Seeded: set -Dnq.mutation.seed=S to replay a run.
 */
class GgufMutationTest {

    static final int VARIANTS = 2000;

    @TempDir
    Path dir;

    @Test
    void corruptedFilesNeverCrashTheReader() throws Exception {
        long seed = Long.getLong("nq.mutation.seed", System.nanoTime());
        System.out.println("GgufMutationTest seed " + seed + " (replay with -Dnq.mutation.seed=" + seed + ")");
        Random rnd = new Random(seed);
        byte[][] originals = {
                RandomModel.llama(2, 1, 16, GgmlType.F32).vocab(360).layers(1).bytes(),
                RandomModel.qwen2(2, 1, 32, GgmlType.Q8_0).vocab(300).layers(1).bytes(),
                RandomModel.llama(2, 2, 128, GgmlType.Q4_K).vocab(360).layers(1).ffn(256).bytes(),
        };
        int variants = 0, loaded = 0;
        Path p = dir.resolve("m.gguf");
        for (int i = 0; i < VARIANTS; i++) { // a count, not a time limit: the same work on a loaded machine
            byte[] b = mutate(originals[i % originals.length], rnd);
            Files.write(p, b);
            variants++;
            try (Model m = Model.load(p)) {
                loaded++;
                try (Session s = m.newSession()) { // a model that loads must also run
                    s.forward(new int[]{m.tokenizer().bos(), 0}, 0, 2, false);
                }
            } catch (IOException expected) {
                // the typed error path
            } catch (Throwable t) {
                fail("variant " + i + " of seed " + seed + ": " + t, t);
            }
        }
        System.out.println("GgufMutationTest: " + variants + " variants, " + loaded + " still loadable");
        assertEquals(VARIANTS, variants);
    }

    static byte[] mutate(byte[] original, Random rnd) {
        byte[] b = original.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int header = Math.min(b.length, 4096); // most structure lives in the first KiB
        switch (rnd.nextInt(6)) {
            case 0 -> { // flip a few bytes of the metadata / tensor infos
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) b[rnd.nextInt(header)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> { // truncate
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 2 -> { // a huge or negative 64-bit count/length/offset over an aligned field
                int at = rnd.nextInt(header / 4 - 2) * 4;
                long[] values = {-1L, Long.MAX_VALUE, 1L << 32, 1L << 40, Integer.MAX_VALUE, 0x7FFFFFF0L};
                bb.putLong(at, values[rnd.nextInt(values.length)]);
            }
            case 3 -> { // a random 32-bit value (types, dimension counts)
                int at = rnd.nextInt(header / 4 - 1) * 4;
                bb.putInt(at, rnd.nextInt());
            }
            case 4 -> { // random bytes anywhere, data included
                for (int k = 1 + rnd.nextInt(16); k > 0; k--) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt();
            }
            default -> { // the header counts
                bb.putLong(8 + 8 * rnd.nextInt(2), rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(1 << 16));
            }
        }
        return b;
    }
}
