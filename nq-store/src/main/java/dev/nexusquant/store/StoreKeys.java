package dev.nexusquant.store;

/**
 * The one rule for keys, shared by every store: 1 to {@value #MAX_LENGTH} characters of {@code [A-Za-z0-9._-]}, not
 * starting with a dot. A key is then a safe file name (no separator, no {@code ..}, no hidden or temporary file) and
 * a safe Redis key.
 */
public final class StoreKeys {

    public static final int MAX_LENGTH = 200;

    private StoreKeys() {
    }

    /** Returns {@code key} when it follows the rule; IllegalArgumentException naming what is wrong otherwise. */
    public static String check(String key) {
        if (key == null) throw new IllegalArgumentException("store key is null");
        if (key.isEmpty()) throw new IllegalArgumentException("store key is empty");
        if (key.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("store key is " + key.length() + " characters long (at most " + MAX_LENGTH + ")");
        }
        if (key.charAt(0) == '.') throw new IllegalArgumentException("store key starts with a dot: " + quote(key));
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-';
            if (!ok) {
                throw new IllegalArgumentException("store key " + quote(key) + " has character " + String.format("U+%04X", (int) c)
                        + " at index " + i + " (allowed: A-Z a-z 0-9 . _ -)");
            }
        }
        return key;
    }

    private static String quote(String key) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < Math.min(key.length(), 60); i++) {
            char c = key.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return b.append(key.length() > 60 ? "...\"" : "\"").toString();
    }
}
