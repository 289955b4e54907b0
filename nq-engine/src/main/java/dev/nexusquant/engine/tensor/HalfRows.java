package dev.nexusquant.engine.tensor;

import dev.nexusquant.engine.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * fp16 weights checked once at load for the short decode kernel ({@link VectorKernels#dotF16Finite}). An fp16 value's
 * 15 bits of exponent and mantissa, shifted left by 13 into a float and given the sign bit, are the value times
 * {@code 2^-112} exactly (normal and subnormal halves alike), but only for finite halves: an infinity or NaN (exponent
 * all ones) would come out as a finite float. A matrix with no such value is marked at load ({@link #prepare}: its
 * {@link Weights#packed} is its own data), and its decode kernel multiplies these scaled weights with {@code x * 2^112}
 * ({@link #scaled}): the products are then exactly {@code w * x}, so the sums are bit for bit those of the kernel that
 * converts each half in full ({@code VectorKernels.dotF16Lanes}: 11 vector operations per 16 values against 4).
 * Scaling {@code x} is exact unless {@code |x| >= 2^16} (the product would overflow): then {@link #scaled} says so and
 * the full conversion runs.
 */
final class HalfRows {

    /** {@code 2^112}: between the exponent biases of fp16 (15) and float (127). */
    static final float SCALE = 0x1p112f;
    /** {@code |x|} from which {@code x * SCALE} is no longer finite. */
    static final float LIMIT = 0x1p16f;

    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long EXP = 0x7C007C007C007C00L, ONES = 0x0001000100010001L, TOPS = 0x8000800080008000L;

    private HalfRows() {
    }

    /** {@code w} marked as finite ({@code packed} = its data) when it is fp16 with no infinity or NaN; else {@code w}. */
    static Weights prepare(Weights w) {
        if (w.type() != GgmlType.F16 || w.packed() != null || !finite(w.data())) return w;
        return w.withPacked(w.data());
    }

    /** Whether the fp16 values of {@code s} (an even number of bytes) are all finite. */
    static boolean finite(MemorySegment s) {
        long n = s.byteSize(), i = 0;
        for (; i + 8 <= n; i += 8) {
            // a lane of y is 0 where the half's exponent is all ones; y's lanes are below 0x8000, so the zero-lane
            // test (y - 1) & ~y & 0x8000 per lane is exact for "some lane is 0"
            long y = (s.get(I64, i) & EXP) ^ EXP;
            if (((y - ONES) & ~y & TOPS) != 0) return false;
        }
        for (; i + 2 <= n; i += 2) {
            if ((s.get(I16, i) & 0x7C00) == 0x7C00) return false;
        }
        return true;
    }

    /**
     * {@code dst[i] = x[xOff + i] * 2^112} for {@code i < n} (exact); false when some {@code |x|} is at least
     * {@code 2^16} or NaN (the scaled product could then differ from {@code w * x}, and {@code dst} is not to be used).
     *
     * @param dst [n] or more
     */
    static boolean scale(float[] x, int xOff, int n, float[] dst) {
        boolean ok = true;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            ok &= Math.abs(v) < LIMIT;
            dst[i] = v * SCALE;
        }
        return ok;
    }
}
