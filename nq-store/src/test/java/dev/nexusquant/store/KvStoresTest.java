package dev.nexusquant.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvStoresTest {

    @Test
    void opensDirectoryStores(@TempDir Path tmp) throws Exception {
        Path d = tmp.resolve("a/b");
        try (KvStore s = KvStores.open("dir:" + d)) {
            assertInstanceOf(DirectoryKvStore.class, s);
            assertTrue(Files.isDirectory(d));
            assertEquals("dir:" + d.toAbsolutePath().normalize(), s.describe());
        }
    }

    @Test
    void parsesRedisUrls() {
        assertEquals(new KvStores.Redis("127.0.0.1", 6379, 0), KvStores.parseRedis("s", "127.0.0.1:6379"));
        assertEquals(new KvStores.Redis("cache.local", 7000, 3), KvStores.parseRedis("s", "cache.local:7000/3"));
        assertEquals(new KvStores.Redis("::1", 6380, 0), KvStores.parseRedis("s", "[::1]:6380/"));
    }

    @Test
    void badSpecsSayWhatIsWrong() {
        String[][] cases = {
                {"", "empty"}, {"file:/x", "unknown kind"}, {"dir:", "no directory"}, {"redis://", "no :PORT"},
                {"redis://host", "no :PORT"}, {"redis://:6379", "no host"}, {"redis://h:0", "outside 1..65535"},
                {"redis://h:99999", "outside 1..65535"}, {"redis://h:x", "not a number"}, {"redis://u:p@h:1", "passwords"},
                {"redis://h:1/x", "database"}, {"redis://::1:6379", "brackets"}, {"rediss://h:1", "TLS"},
                {"redis://h:1?timeout=3", "query"}, {"redis://h/:1", "not a number"}, {"redis://[::1:1", "unclosed"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvStores.open(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().contains("expected dir:PATH or redis://HOST:PORT"), e.getMessage());
        }
    }

    @Test
    void aFileWhereTheDirectoryShouldBeIsUnavailable(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("file");
        Files.writeString(f, "x");
        KvStoreException e = assertThrows(KvStoreException.class, () -> KvStores.open("dir:" + f));
        assertEquals(KvStoreException.Kind.UNAVAILABLE, e.kind());
    }
}
