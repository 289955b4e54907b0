package dev.nexusquant.store;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreKeysTest {

    @Test
    void acceptsPlainKeys() {
        for (String k : List.of("a", "A-b_c.d", "0123456789abcdef", "x".repeat(StoreKeys.MAX_LENGTH), "a..b", "a.")) {
            assertEquals(k, StoreKeys.check(k));
        }
    }

    @Test
    void rejectsHostileKeysByName() {
        for (String k : List.of("", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b", ".hidden", ".tmp-1", "a b", "a\u0000b",
                "\u00e9", "x".repeat(StoreKeys.MAX_LENGTH + 1), "C:x", "a\nb", "*", "nq:1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StoreKeys.check(k), k);
            assertTrue(e.getMessage().startsWith("store key"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> StoreKeys.check(null));
    }

    /** Seeded random strings: accepted exactly when every character is allowed and the first is not a dot. */
    @Test
    void randomKeysFollowTheRule() {
        SplittableRandom r = new SplittableRandom(13);
        String alphabet = "abcXYZ019._-/\\: \u0000\u00ff\u4e2d~%";
        for (int i = 0; i < 20_000; i++) {
            int len = r.nextInt(0, 12);
            StringBuilder b = new StringBuilder();
            for (int j = 0; j < len; j++) b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String k = b.toString();
            boolean ok = !k.isEmpty() && k.charAt(0) != '.' && k.chars().allMatch(c -> "abcXYZ019._-".indexOf(c) >= 0);
            if (ok) {
                assertEquals(k, StoreKeys.check(k));
            } else {
                assertThrows(IllegalArgumentException.class, () -> StoreKeys.check(k), k);
            }
        }
    }
}
