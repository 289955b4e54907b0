package dev.nexusquant.bench;

import dev.nexusquant.engine.kv.DenseKvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.kv.KvSpec;
import dev.nexusquant.store.DirectoryKvStore;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStores;
import dev.nexusquant.store.prefix.PrefixStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Time to first token of a long prompt: cold (the whole prompt through the model) against restored from a directory
 * store and from Redis through {@link PrefixStore} (all full chunks but the one holding the last token restored, the
 * rest prefilled). Each measurement runs from a new session to the prompt's last logits plus the end of the prompt
 * (where a compressing cache compresses), i.e. until the first token can be sampled. Rounds interleave the three
 * (cold, dir, redis), after one warm-up round that also fills the stores; the table gives medians. Entry sizes are
 * read back from the directory store. Also prints whether the restored logits equal the cold ones of the same round
 * bit for bit, and whether the cold logits themselves were the same in every round (with the Vector API kernels they
 * may change as the JIT compiles them: the warm-up round wrote the entries).
 * Run: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp nq-bench/target/benchmarks.jar
 * dev.nexusquant.bench.PrefixStoreBench model/default.gguf model/heldout.txt redis://127.0.0.1:6379 /tmp/nq-prefix 2000 7 balanced,fp32}
 */
public final class PrefixStoreBench {

    public static void main(String[] args) throws Exception {
        Path modelPath = Path.of(args[0]);
        String text = Files.readString(Path.of(args[1]));
        String redisUrl = args[2];
        Path dir = Path.of(args[3]);
        int tokens = Integer.parseInt(args[4]);
        int rounds = Integer.parseInt(args[5]);
        String[] caches = (args.length > 6 ? args[6] : "balanced").split(",");
        try (Model model = Model.load(modelPath)) {
            int[] all = model.tokenizer().encode(text, true);
            int[] prompt = Arrays.copyOf(all, tokens);
            System.out.printf("model %s, kernels %s, prompt %d tokens, %d rounds; load average at start: %s%n",
                    modelPath, model.kernels().name(), tokens, rounds, RedisClientBench.loadAverage());
            System.out.println("| cache | cold TTFT s | dir TTFT s | redis TTFT s | cold/dir | cold/redis | restored tokens | entry bytes/chunk (zstd) | per token | fp16 rows per token | restored = cold (same round) | cold = cold (rounds) | end of prompt s |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (String name : caches) {
                KvCacheFactory f = switch (name) {
                    case "fp32" -> DenseKvCache.FP32;
                    case "fp16" -> DenseKvCache.FP16;
                    default -> KvSpec.preset(name);
                };
                Path d = dir.resolve(name);
                deleteTree(d);
                try (KvStore ds = new DirectoryKvStore(d, 8L << 30); KvStore rs = KvStores.open(redisUrl)) {
                    PrefixStore pd = new PrefixStore(model, ds), pr = new PrefixStore(model, rs);
                    double[] cold = new double[rounds], dirT = new double[rounds], redisT = new double[rounds];
                    double[] endOfPrompt = new double[rounds]; // of the cold run: the compression both paths pay
                    float[] coldLogits = null;
                    boolean same = true, coldStable = true;
                    int restored = 0;
                    for (int r = -1; r < rounds; r++) {
                        long t0 = System.nanoTime();
                        float[] lc;
                        long e0;
                        try (Session s = model.newSession(f)) {
                            lc = s.forward(prompt, 0, prompt.length, false);
                            e0 = System.nanoTime();
                            s.endOfPrompt();
                        }
                        if (r >= 0) endOfPrompt[r] = (System.nanoTime() - e0) / 1e9;
                        double c = (System.nanoTime() - t0) / 1e9;
                        if (coldLogits != null && r >= 0) coldStable &= Arrays.equals(coldLogits, lc);
                        coldLogits = lc;
                        double[] got = new double[2];
                        PrefixStore[] stores = {pd, pr};
                        for (int i = 0; i < 2; i++) {
                            long u0 = System.nanoTime();
                            PrefixStore.Prefilled p = stores[i].prefill(f, prompt);
                            p.session().endOfPrompt();
                            double t = (System.nanoTime() - u0) / 1e9 - p.stats().storeSeconds();
                            p.session().close();
                            got[i] = t;
                            if (r >= 0) {
                                same &= Arrays.equals(coldLogits, p.logits());
                                restored = p.stats().restoredTokens();
                                if (!p.stats().problems().isEmpty()) System.out.println("problems: " + p.stats().problems());
                            }
                        }
                        if (r >= 0) {
                            cold[r] = c;
                            dirT[r] = got[0];
                            redisT[r] = got[1];
                        }
                    }
                    long entryBytes = 0;
                    int entries = 0;
                    try (var files = Files.list(d)) {
                        for (Path p : files.toList()) {
                            entryBytes += Files.size(p);
                            entries++;
                        }
                    }
                    double mc = median(cold), md = median(dirT), mr = median(redisT);
                    long perChunk = entries == 0 ? 0 : entryBytes / entries;
                    System.out.printf("| %s | %.3f | %.3f | %.3f | %.1fx | %.1fx | %d | %,d (%d entries) | %,d B | %,d B | %s | %s | %.3f |%n",
                            name, mc, md, mr, mc / md, mc / mr, restored, perChunk, entries, perChunk / pd.chunkTokens(),
                            model.kvLayout().fp16BytesPerToken(), same ? "yes" : "NO", coldStable ? "yes" : "NO", median(endOfPrompt));
                }
            }
            System.out.printf("load average at end: %s%n", RedisClientBench.loadAverage());
        }
    }

    private static void deleteTree(Path d) throws Exception {
        if (!Files.exists(d)) return;
        try (var w = Files.walk(d)) {
            for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
