package dev.nexusquant.vector;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs three times (see the pom): with the Vector API module, without it, and with {@code -Dnq.vectorization=scalar};
 * {@code nq.test.expectVector=false} tells the last two that the scalar kernels must be chosen.
 */
class VectorizationTest {

    /** Log records of the switch, caught from before its decision (this class initialises first). */
    static final List<LogRecord> LOGGED = new ArrayList<>();
    private static final Logger JUL = Logger.getLogger("dev.nexusquant.vector");

    static {
        JUL.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (LOGGED) {
                    LOGGED.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    private static boolean moduleInBootLayer() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    @Test
    void decidesAsTheJvmAllows() {
        boolean forcedScalar = "scalar".equals(System.getProperty(Vectorization.PROPERTY));
        boolean expectVector = Boolean.parseBoolean(System.getProperty("nq.test.expectVector", "true"));
        if (!expectVector) {
            assertTrue(forcedScalar || !moduleInBootLayer(), "this run is meant to be without the vector module or forced scalar");
            assertFalse(Vectorization.enabled(), Vectorization.describe());
            assertEquals(0, Vectorization.floatLanes());
            assertTrue(Vectorization.describe().startsWith("scalar kernels: "), Vectorization.describe());
            if (!forcedScalar) assertTrue(Vectorization.describe().contains("--add-modules jdk.incubator.vector"));
        } else {
            assertTrue(moduleInBootLayer(), "the default test run adds jdk.incubator.vector");
            boolean wide = SpeciesProbe.preferredFloatLanes() >= Vectorization.MIN_LANES;
            assertEquals(wide, Vectorization.enabled(), Vectorization.describe());
            assertEquals(wide ? SpeciesProbe.preferredFloatLanes() : 0, Vectorization.floatLanes());
        }
    }

    @Test
    void logsOneLineExactlyWhenFallingBack() {
        Vectorization.enabled(); // the decision is taken by now
        synchronized (LOGGED) {
            List<String> decisions = LOGGED.stream().map(LogRecord::getMessage).filter(m -> m.startsWith("NexusQuant uses")).toList();
            assertEquals(Vectorization.enabled() ? 0 : 1, decisions.size(), decisions::toString);
            if (!decisions.isEmpty()) {
                String line = decisions.getFirst();
                assertFalse(line.contains("\n"), line);
                assertTrue(line.contains(Vectorization.describe()), line);
            }
        }
    }

    @Test
    void choosesTheScalarTwinUnlessEnabled() {
        Object scalar = "scalar", vector = "vector";
        int[] calls = {0};
        Object chosen = Vectorization.choose(scalar, () -> {
            calls[0]++;
            return vector;
        });
        assertSame(Vectorization.enabled() ? vector : scalar, chosen);
        assertEquals(Vectorization.enabled() ? 1 : 0, calls[0], "the vector twin is named only when it is used");
    }

    @Test
    void aVectorTwinThatCannotLoadGivesTheScalarOne() {
        Object scalar = "scalar";
        assertSame(scalar, Vectorization.choose(scalar, () -> {
            throw new NoClassDefFoundError("jdk/incubator/vector/FloatVector");
        }));
        assertSame(scalar, Vectorization.choose(scalar, () -> null));
    }
}
