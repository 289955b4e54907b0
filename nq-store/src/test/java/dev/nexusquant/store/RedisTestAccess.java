package dev.nexusquant.store;

/** Package internals the prefix tests (another package) need: URL parsing and the stored key names. */
public final class RedisTestAccess {

    private RedisTestAccess() {
    }

    public static KvStores.Redis parse(String url) {
        return KvStores.parseRedis(url, url.substring("redis://".length()));
    }

    public static byte[] redisKey(String key) {
        return RedisKvStore.redisKey(key);
    }
}
