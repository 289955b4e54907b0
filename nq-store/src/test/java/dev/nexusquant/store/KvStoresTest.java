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
        assertEquals(new KvStores.Redis("h", 1, 2, "alice", "s3cret"), KvStores.parseRedis("s", "alice:s3cret@h:1/2"));
        assertEquals(new KvStores.Redis("h", 1, 0, null, "pw"), KvStores.parseRedis("s", ":pw@h:1"));
        assertEquals(new KvStores.Redis("h", 1, 0, "bob", null), KvStores.parseRedis("s", "bob@h:1"));
        // percent-escapes, and '@' or ':' inside the password
        assertEquals(new KvStores.Redis("h", 1, 0, "a b", "p@ss:w%rd"), KvStores.parseRedis("s", "a%20b:p@ss:w%25rd@h:1"));
        // text outside the BMP beside an escape stays whole (it was once encoded half a surrogate at a time)
        assertEquals(new KvStores.Redis("h", 1, 0, null, "\uD83D\uDD11 k%\u00e9"),
                KvStores.parseRedis("s", ":\uD83D\uDD11 k%25%C3%A9@h:1"));
    }

    @Test
    void aPasswordComesFromTheEnvironmentAndIsNeverShown() {
        // a user without a password anywhere is refused before any connection
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KvStores.open("redis://bob@127.0.0.1:1", 1, name -> null));
        assertTrue(e.getMessage().contains("user bob has no password") && e.getMessage().contains(KvStores.PASSWORD_ENV), e.getMessage());
        // with the variable set, the same spec opens (nothing is connected until first use)
        try (KvStore s = KvStores.open("redis://bob@127.0.0.1:1", 1, name -> name.equals(KvStores.PASSWORD_ENV) ? "fromenv" : null)) {
            assertEquals("redis://bob@127.0.0.1:1", s.describe());
        } catch (Exception x) {
            throw new AssertionError(x);
        }
        // messages and records never carry the password
        e = assertThrows(IllegalArgumentException.class, () -> KvStores.open("redis://alice:topsecret@h:99999"));
        assertTrue(!e.getMessage().contains("topsecret") && e.getMessage().contains("redis://alice:***@h:99999"), e.getMessage());
        assertTrue(!KvStores.parseRedis("s", "alice:topsecret@h:1").toString().contains("topsecret"));
        assertEquals("redis://h:1", KvStores.redacted("redis://h:1"));
        assertEquals("redis://:***@h:1", KvStores.redacted("redis://:pw@h:1"));
    }

    @Test
    void badSpecsSayWhatIsWrong() {
        String[][] cases = {
                {"", "empty"}, {"file:/x", "unknown kind"}, {"dir:", "no directory"}, {"redis://", "no :PORT"},
                {"redis://host", "no :PORT"}, {"redis://:6379", "no host"}, {"redis://h:0", "outside 1..65535"},
                {"redis://h:99999", "outside 1..65535"}, {"redis://h:x", "not a number"}, {"redis://u:@h:1", "empty password"},
                {"redis://@h:1", "nothing before"}, {"redis://u:%4@h:1", "two hex digits"},
                {"redis://h:1/x", "database"}, {"redis://::1:6379", "brackets"}, {"rediss://h", "no :PORT"},
                {"redis://h:1?timeout=3", "query"}, {"redis://h/:1", "not a number"}, {"redis://[::1:1", "unclosed"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvStores.open(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().contains("expected dir:PATH or redis[s]://[USER[:PASSWORD]@]HOST:PORT"), e.getMessage());
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
