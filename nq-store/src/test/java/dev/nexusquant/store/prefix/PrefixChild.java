package dev.nexusquant.store.prefix;

import dev.nexusquant.engine.model.Model;
import dev.nexusquant.kv.KvCompression;
import dev.nexusquant.store.KvStore;
import dev.nexusquant.store.KvStores;

import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.nio.file.Path;

/**
 * The other process of the two-JVM test: prefills {@code system(seed 60, 600 tokens) + user(seed, n tokens)} through
 * the prefix store on a Redis server and writes "hits stored" and the prompt's last logits to a file.
 * Args: MODEL REDIS_URL USER_SEED USER_TOKENS OUT
 */
public final class PrefixChild {

    public static void main(String[] args) throws Exception {
        int[] prompt = RedisPrefixStoreTest.prompt(Long.parseLong(args[2]), Integer.parseInt(args[3]));
        try (Model model = Model.load(Path.of(args[0])); KvStore store = KvStores.open(args[1])) {
            PrefixStore.Prefilled p = new PrefixStore(model, store).prefill(KvCompression.balanced(), prompt);
            p.session().close();
            try (DataOutputStream out = new DataOutputStream(new FileOutputStream(args[4]))) {
                out.writeInt(p.stats().hits());
                out.writeInt(p.stats().stored());
                out.writeInt(p.stats().problems().size());
                out.writeInt(p.logits().length);
                for (float f : p.logits()) out.writeFloat(f);
            }
            System.out.println(p.stats().summary());
            p.stats().problems().forEach(System.out::println);
        }
    }
}
