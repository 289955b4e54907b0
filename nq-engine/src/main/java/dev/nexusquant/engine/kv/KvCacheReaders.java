package dev.nexusquant.engine.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** Finds the {@link KvCacheReader} of a state type: the dense cache's, then those registered as services. */
public final class KvCacheReaders {

    private KvCacheReaders() {
    }

    /** The reader of {@code stateType}, or null when none is known. */
    public static KvCacheReader find(String stateType) {
        for (KvCacheReader r : all()) if (r.stateType().equals(stateType)) return r;
        return null;
    }

    /** The state types that can be read, sorted (for error messages). */
    public static String known() {
        TreeSet<String> names = new TreeSet<>();
        for (KvCacheReader r : all()) names.add(r.stateType());
        return String.join(", ", names);
    }

    private static List<KvCacheReader> all() {
        List<KvCacheReader> list = new ArrayList<>();
        list.add(DenseKvCache.READER);
        load(list, KvCacheReader.class.getClassLoader());
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null && context != KvCacheReader.class.getClassLoader()) load(list, context);
        return list;
    }

    private static void load(List<KvCacheReader> list, ClassLoader loader) {
        for (KvCacheReader r : ServiceLoader.load(KvCacheReader.class, loader)) {
            if (list.stream().noneMatch(x -> x.getClass() == r.getClass())) list.add(r);
        }
    }
}
