package dev.nexusquant.codec;

/**
 * Whether the Panama Vector API ({@code jdk.incubator.vector}) can be used in this JVM.
 *
 * <p>Every vectorized kernel of the codec has a plain scalar twin. The vector kernels are chosen only when the
 * incubator module is in the boot layer (the project's launcher and test configuration add it with
 * {@code --add-modules jdk.incubator.vector}); a library user who does not add it still gets correct results from
 * the scalar kernels. Setting the system property {@code nq.scalar=true} forces the scalar kernels (for comparison).
 */
public final class Simd {

    private static final boolean AVAILABLE = detect();

    private Simd() {
    }

    /** True when the vector kernels are used by default. */
    public static boolean vectorApiAvailable() {
        return AVAILABLE;
    }

    private static boolean detect() {
        if (Boolean.getBoolean("nq.scalar")) {
            return false;
        }
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}
