package dev.nexusquant.kv.state;

import dev.nexusquant.engine.gguf.GgmlType;
import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvStats;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.engine.testing.RandomModel;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.kv.Quality;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Save and restore continue exactly: for the dense caches, each preset and each codec family, a session is saved at
 * several points (mid-prompt, right after the prompt, mid-generation, after a second turn, mid second generation),
 * restored, and run on; every later logit equals that of the session that never stopped, bit for bit, and so do the
 * restored session's tokens, last logits and bytes held. Bit-exactness holds on the scalar kernels, whose results do
 * not depend on the JIT: this class is tagged {@code bit-exact} and runs in the pom's scalar surefire execution.
 */
@Tag("bit-exact")
class SaveRestoreBitExactTest {

    @TempDir
    static Path dir;
    static Model model;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(RandomModel.llama(8, 2, 64, GgmlType.F32).layers(3).context(1024).vocab(512).write(dir));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Stream<Arguments> caches() {
        List<Arguments> a = new ArrayList<>();
        a.add(Arguments.of("dense fp32", DenseKvCache.FP32));
        a.add(Arguments.of("dense fp16", DenseKvCache.FP16));
        for (Quality q : Quality.values()) a.add(Arguments.of(q.name(), q.config()));
        String common = ",window=16,block=16,wprec=f16,rot=on,center=kv,sinks=4";
        for (String spec : new String[]{
                "k=e8:2,v=e8:1,keys=pre,kbal=on,evict=h2o:0.5,pin=2" + common,
                "k=e8:3/32,v=e8:2,boost=1,age=48,ak=e8:1,av=e8:1,evict=snapkv:0.3" + common,
                "k=fp16,v=fp16,evict=streaming,window=16,block=8,wprec=f32",
                "k=fp8,v=fp8,evict=none" + common,
                "k=q8_0,v=q4_0,evict=snapkv:0.5" + common,
                "k=kivi2,v=kivi4,evict=none,window=16,block=16",
                "k=tq3.5,v=tq2,evict=h2o:0.6" + common,
                "k=fp32,v=fp32,staging=64,window=16,block=8",
                "k=e8:2,v=e8:2,keys=pre,evict=snapkv:0.5" + common + ",rot=klt",
                "k=e8:3,v=e8:1,boost=1,age=48,ak=e8:1,av=e8:1,evict=snapkv:0.3" + common + ",rot=klt:k"}) {
            a.add(Arguments.of(spec, KvSpec.parse(spec)));
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caches")
    void restoredSessionsContinueBitForBit(String name, KvCacheFactory factory) throws Exception {
        Script script = new Script(512, 17, 110, 20, 40, 12);
        String[] points = {"end of prompt", "decode 0", "decode 11", "turn-2 decode 0", "turn-2 decode 9"};
        List<float[]> reference = new ArrayList<>();
        List<byte[]> saved = new ArrayList<>();
        List<KvStats> statsAtSave = new ArrayList<>();
        int[] at = Arrays.stream(points).mapToInt(script::index).toArray();
        try (Session s = model.newSession(factory)) {
            for (int i = 0; i < script.steps.size(); i++) {
                for (int p : at) {
                    if (p == i) {
                        saved.add(s.toBytes());
                        statsAtSave.add(s.kvCache().stats());
                    }
                }
                reference.add(script.run(s, i));
            }
        }
        for (int k = 0; k < at.length; k++) {
            int from = at[k];
            String where = name + ", saved before step '" + points[k] + "'";
            try (Session r = model.restore(saved.get(k))) {
                int pos = script.position(from);
                assertEquals(pos, r.position(), where);
                assertArrayEquals(Arrays.copyOf(script.tokens, pos), r.tokens(), where + ": tokens");
                float[] last = lastLogits(reference, from, model.config().vocabSize());
                assertArrayEquals(last, r.lastLogits(), where + ": last logits");
                KvStats before = statsAtSave.get(k), after = r.kvCache().stats();
                assertEquals(before.bytes(), after.bytes(), where + ": bytes held " + before + " vs " + after);
                assertEquals(before.tokensSeen(), after.tokensSeen(), where);
                assertEquals(before.tokensKept(), after.tokensKept(), where);
                for (int i = from; i < script.steps.size(); i++) {
                    float[] out = script.run(r, i);
                    float[] ref = reference.get(i);
                    if (ref == null) continue;
                    if (!Arrays.equals(ref, out)) {
                        double d = 0;
                        for (int j = 0; j < ref.length; j++) d = Math.max(d, Math.abs(ref[j] - out[j]));
                        throw new AssertionError(where + ": logits of step '" + script.steps.get(i).name()
                                + "' differ (max |diff| " + d + ")");
                    }
                }
                // and the restored session saves again to the same bytes as the one that never stopped
                // (checked once, at the end of the script, against a fresh run)
            }
        }
        // the file against memory: the last save point
        byte[] last = saved.get(saved.size() - 1);
        KvStats st = statsAtSave.get(saved.size() - 1);
        System.out.printf(Locale.ROOT, "  %-70s %,9d bytes saved, %,10d in memory (%.2fx), fp16 %,10d (%.1fx)%n",
                name, last.length, st.bytes(), (double) st.bytes() / last.length, st.fp16Bytes(),
                (double) st.fp16Bytes() / last.length);
        if (!name.startsWith("dense") && !name.startsWith("k=fp32")) {
            assertTrue(last.length < st.bytes(), name + ": saved " + last.length + " bytes, in memory " + st.bytes());
        }
    }

    /** The logits of the last token processed before step {@code from} (the last row of the last forward step). */
    static float[] lastLogits(List<float[]> reference, int from, int vocab) {
        for (int i = from - 1; i >= 0; i--) {
            float[] l = reference.get(i);
            if (l != null) return Arrays.copyOfRange(l, l.length - vocab, l.length);
        }
        return null;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caches")
    void aSavedFileRestoresToTheSameBytesAndTokens(String name, KvCacheFactory factory) throws Exception {
        Script script = new Script(512, 23, 90, 12, 30, 4);
        Path file = dir.resolve("s-" + Math.abs(name.hashCode()) + ".nqs");
        byte[] first;
        try (Session s = model.newSession(factory)) {
            for (int i = 0; i < script.steps.size(); i++) script.run(s, i);
            long n = s.save(file);
            assertEquals(Files.size(file), n);
            first = Files.readAllBytes(file);
            assertArrayEquals(s.toBytes(), first, "save(Path) and toBytes() write the same bytes");
        }
        try (Session r = model.restore(file)) {
            assertArrayEquals(first, r.toBytes(), name + ": a restored session saves to the bytes it was restored from");
            assertEquals(Model.peek(file).cacheSettings(), r.kvCache().settings());
            assertArrayEquals(Model.peek(file).tokens(), r.tokens());
        }
    }
}
