package dev.nexusquant.engine.gguf;

import java.util.Arrays;

/**
 * One metadata value of a GGUF file.
 *
 * <p>Scalars are held as boxed Java values: UINT8/INT8 as {@code Byte}, UINT16/INT16 as {@code Short}, UINT32/INT32 as
 * {@code Integer}, UINT64/INT64 as {@code Long} (unsigned types keep their bits; read them with {@link #asLong()}),
 * FLOAT32 as {@code Float}, FLOAT64 as {@code Double}, BOOL as {@code Boolean}, STRING as {@code String}. Arrays are
 * held as primitive arrays of the element type ({@code byte[]}, {@code short[]}, {@code int[]}, {@code long[]},
 * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}), or {@code GgufValue[]} for arrays of arrays.
 *
 * @param type        the value type
 * @param elementType for arrays, the type of the elements; null otherwise
 * @param value       the value as described above
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue of(GgufValueType type, Object value) {
        return new GgufValue(type, null, value);
    }

    public static GgufValue array(GgufValueType elementType, Object array) {
        return new GgufValue(GgufValueType.ARRAY, elementType, array);
    }

    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, null, s);
    }

    public static GgufValue u32(int v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    /** The value of an integer type as a long; unsigned types are read as unsigned. */
    public long asLong() {
        return switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) value);
            case INT8 -> (Byte) value;
            case UINT16 -> Short.toUnsignedLong((Short) value);
            case INT16 -> (Short) value;
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT32 -> (Integer) value;
            case UINT64, INT64 -> (Long) value;
            case BOOL -> ((Boolean) value) ? 1 : 0;
            default -> throw new IllegalStateException("not an integer: " + type);
        };
    }

    /** The value of a number type as a double. */
    public double asDouble() {
        return switch (type) {
            case FLOAT32 -> (Float) value;
            case FLOAT64 -> (Double) value;
            case UINT64 -> {
                long v = (Long) value;
                yield v >= 0 ? v : (double) (v >>> 1) * 2.0;
            }
            default -> asLong();
        };
    }

    /** Number of elements of an array value (1 for scalars). */
    public int length() {
        if (type != GgufValueType.ARRAY) return 1;
        return java.lang.reflect.Array.getLength(value);
    }

    /** A short human-readable form (arrays abbreviated). */
    public String display(int maxElements) {
        if (type != GgufValueType.ARRAY) {
            return switch (type) {
                case UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64 -> type == GgufValueType.UINT64
                        ? Long.toUnsignedString((Long) value) : Long.toString(asLong());
                default -> String.valueOf(value);
            };
        }
        int n = length();
        StringBuilder sb = new StringBuilder();
        sb.append(elementType).append('[').append(n).append("] ");
        String body = switch (value) {
            case String[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case int[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case long[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case float[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case double[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case byte[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case short[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            case boolean[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(n, maxElements)));
            default -> "[...]";
        };
        sb.append(body);
        if (n > maxElements) sb.insert(sb.length() - 1, ", ...");
        return sb.toString();
    }
}
