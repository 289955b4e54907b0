package dev.nexusquant.vector;

import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The one place that decides whether the Panama Vector API ({@code jdk.incubator.vector}) is used, in the manner of
 * Lucene's {@code VectorizationProvider}. Every numeric kernel of the project comes as a pair behind one interface, a
 * plain {@code ScalarX} and a {@code VectorX} written with the Vector API, and every pair is chosen here:
 * {@link #choose(Object, Supplier)} returns the vector twin when the decision says so and the scalar one otherwise.
 *
 * <p>The decision is taken once per JVM, at first use, in this order:
 * <ol>
 *   <li>the system property {@value #PROPERTY}: {@code scalar} forces the scalar kernels (for comparison, or to rule
 *       the vector kernels out), {@code auto} (or unset) lets the next two checks decide;</li>
 *   <li>the module {@code jdk.incubator.vector} must be in the boot layer, that is the JVM was started with
 *       {@code --add-modules jdk.incubator.vector} (the project's launcher and tests do so; a library user may not);</li>
 *   <li>the CPU's preferred float vector must hold at least {@value #MIN_LANES} lanes (256 bits); on narrower
 *       vectors the vector kernels would be slower than the scalar ones.</li>
 * </ol>
 * No vector class is loaded before these checks pass: the species is read by a probe class loaded by name only after
 * the module check, and {@link #choose} calls its supplier (which names the vector twin) only when the vector kernels
 * are used. When it falls back, the provider logs one line saying why (logger {@code dev.nexusquant.vector}); a
 * vector twin that still fails to load falls back to the scalar one with a log line, never with an error.
 */
public final class Vectorization {

    /** The system property that forces the scalar kernels: {@code -Dnq.vectorization=scalar}. */
    public static final String PROPERTY = "nq.vectorization";

    /** The fewest float lanes of the preferred species for which the vector kernels are used. */
    public static final int MIN_LANES = 8;

    private static final String MODULE = "jdk.incubator.vector";
    private static final System.Logger LOG = System.getLogger("dev.nexusquant.vector");
    private static final Decision DECISION = decide();

    private Vectorization() {
    }

    /** What was decided: whether the vector kernels are used, the preferred species' lanes, and why. */
    private record Decision(boolean vector, int lanes, String reason) {
    }

    /** True when the vector twins are used in this JVM. */
    public static boolean enabled() {
        return DECISION.vector;
    }

    /** Float lanes of the preferred vector species when {@link #enabled()}, otherwise 0. */
    public static int floatLanes() {
        return DECISION.vector ? DECISION.lanes : 0;
    }

    /** One sentence: which kernels run and why, for logs and {@code --version}-like output. */
    public static String describe() {
        return DECISION.reason;
    }

    /**
     * The vector twin when the vector kernels are used, otherwise {@code scalar}. {@code vector} is called at most
     * once per call of this method and only after the checks passed, so the classes it names are loaded only then;
     * if loading them fails anyway, the scalar twin is returned and one line is logged.
     */
    public static <T> T choose(T scalar, Supplier<? extends T> vector) {
        if (!DECISION.vector) return scalar;
        try {
            T v = vector.get();
            return v != null ? v : scalar;
        } catch (LinkageError | RuntimeException e) {
            LOG.log(Level.WARNING, "the vector kernels failed to load (" + e + "); using the scalar kernels");
            return scalar;
        }
    }

    private static Decision decide() {
        String mode = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (mode) {
            case "scalar" -> {
                return fallBack(Level.INFO, "-D" + PROPERTY + "=scalar is set");
            }
            case "auto", "" -> {
            }
            default -> LOG.log(Level.WARNING, "-D" + PROPERTY + "=" + mode + " is not one of auto, scalar; using auto");
        }
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            return fallBack(Level.WARNING, "the module " + MODULE + " is not in the boot layer (start Java with"
                    + " --add-modules " + MODULE + " to use the vector kernels)");
        }
        int lanes;
        try {
            Class<?> probe = Class.forName(Vectorization.class.getPackageName() + ".SpeciesProbe");
            lanes = (int) probe.getMethod("preferredFloatLanes").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return fallBack(Level.WARNING, "the Vector API could not be initialised (" + e + ")");
        }
        if (lanes < MIN_LANES) {
            return fallBack(Level.WARNING, "the CPU's preferred float vector has " + lanes + " lanes, fewer than "
                    + MIN_LANES);
        }
        return new Decision(true, lanes, "vector kernels, " + lanes + " float lanes (" + 32 * lanes + " bits)");
    }

    private static Decision fallBack(Level level, String why) {
        String reason = "scalar kernels: " + why;
        LOG.log(level, "NexusQuant uses its " + reason);
        return new Decision(false, 0, reason);
    }
}
